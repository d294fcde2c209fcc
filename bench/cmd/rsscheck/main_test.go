package main

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "500MB", want: 500e6},
		{in: "5GB", want: 5e9},
		{in: "1.5GiB", want: 3 << 29},
		{in: "64 KiB", want: 64 << 10},
		{in: "4096", want: 4096},
		{in: "10B", want: 10},
		{in: "", err: true},
		{in: "-1MB", err: true},
		{in: "5XB", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSizesMustIncrease(t *testing.T) {
	var s sizes
	require.NoError(t, s.Set("500MB,5GB"))
	require.Equal(t, sizes{500e6, 5e9}, s)
	require.Error(t, s.Set("5GB,500MB"))
}

func TestParseStatus(t *testing.T) {
	const in = "Name:\trsscheck\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nRssAnon:\t   512 kB\nRssFile:\t   500 kB\nThreads:\t8\n"
	st, err := parseStatus(strings.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, status{VmRSS: 1 << 20, VmHWM: 2 << 20, RssAnon: 512 << 10, RssFile: 500 << 10}, st)

	_, err = parseStatus(strings.NewReader("Name:\tx\n"))
	require.ErrorContains(t, err, "no VmRSS")
	_, err = parseStatus(strings.NewReader("VmRSS:\t12 MB\n"))
	require.Error(t, err)
}

func TestReadStatusOfThisProcess(t *testing.T) {
	st, err := readStatus()
	require.NoError(t, err)
	require.Positive(t, st.VmRSS)
	require.GreaterOrEqual(t, st.VmHWM, st.VmRSS)
}

func TestCheckFree(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, checkFree(dir, 1))
	require.ErrorContains(t, checkFree(dir, 1<<62), "needed")
}

func TestPeakSamplerSeesRSSRise(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := startPeakSampler(ctx, time.Millisecond)
	t.Cleanup(func() { cancel(); s.Wait() })

	before, err := s.Take()
	require.NoError(t, err)
	require.Positive(t, before)
	ballast := make([]byte, 64<<20) // touched below, so resident
	for i := range ballast {
		ballast[i] = 1
	}
	peak, err := s.Take()
	require.NoError(t, err)
	runtime.KeepAlive(ballast)
	require.Greater(t, peak, before+32<<20)
}

func TestPeakSamplerTakeResets(t *testing.T) {
	var mu sync.Mutex
	next, fail := int64(0), error(nil)
	set := func(v int64, err error) { mu.Lock(); next, fail = v, err; mu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	s := startSampler(ctx, time.Millisecond, func() (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		return next, fail
	})
	t.Cleanup(func() { cancel(); s.Wait() })

	set(100, nil)
	set(50, nil)
	peak, err := s.Take() // Take samples once itself, so 50 is seen at least
	require.NoError(t, err)
	require.GreaterOrEqual(t, peak, int64(50))
	peak, err = s.Take()
	require.NoError(t, err)
	require.Equal(t, int64(50), peak, "what came before the previous Take is forgotten")

	set(0, errors.New("no /proc"))
	_, err = s.Take()
	require.ErrorContains(t, err, "no /proc")
}
