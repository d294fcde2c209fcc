package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(thenRemoveBinary{m}) }

// thenRemoveBinary runs the tests, then removes the kspring-broker binary
// the process tests built.
type thenRemoveBinary struct{ m *testing.M }

func (r thenRemoveBinary) Run() int {
	defer removeBinary()
	return r.m.Run()
}

// syncBuffer is a log sink safe for the broker's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBinary runs the command in-process and returns its address and a
// stop function that reports run's result.
func startBinary(t *testing.T, args ...string) (string, func() error, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	addrc, errc := make(chan string, 1), make(chan error, 1)
	go func() { errc <- run(ctx, args, logs, func(a string) { addrc <- a }) }()
	select {
	case addr := <-addrc:
		return addr, func() error { cancel(); return <-errc }, logs
	case err := <-errc:
		cancel()
		t.Fatalf("kspring-broker %v: %v\n%s", args, err, logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("kspring-broker %v did not start\n%s", args, logs.String())
	}
	return "", nil, nil
}

func TestPropertiesFileOverridesAndCleanShutdown(t *testing.T) {
	dir := t.TempDir()
	props := filepath.Join(dir, "server.properties")
	require.NoError(t, os.WriteFile(props, []byte(
		"listeners=PLAINTEXT://127.0.0.1:0\nnum.partitions=3\nlog.dirs=/nonexistent\nsome.plugin=1\n"), 0o644))
	data := filepath.Join(dir, "data")
	addr, stop, logs := startBinary(t, props, "--override", "log.dirs="+data)

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("t"), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("kept")}).FirstErr())
	cl.Close()

	require.NoError(t, stop())
	out := logs.String()
	require.Contains(t, out, data, "the first log lines name the data directory")
	require.Contains(t, out, "some.plugin", "unknown properties are reported")
	require.Contains(t, out, "kspring broker stopped")
	entries, err := os.ReadDir(data)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Contains(t, names, "t-2", "num.partitions=3 from the file applies to auto-created topics")
	_, err = os.Stat(filepath.Join(data, "t-0"))
	require.NoError(t, err)
}

func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--override", "num.partitions=lots"}, "num.partitions"},
		{[]string{"--override", "nonsense"}, "want key=value"},
		{[]string{"--override", "no.such.property=1"}, "unknown property"},
		{[]string{"/does/not/exist.properties"}, "no such file"},
		{[]string{"a.properties", "b.properties"}, "too many arguments"},
		{[]string{"--startup-timeout", "0s"}, "--startup-timeout 0s: want a positive duration"},
		{[]string{"--startup-timeout", "soon"}, "invalid value"},
	} {
		err := run(context.Background(), tc.args, &syncBuffer{}, nil)
		require.ErrorContains(t, err, tc.want, tc.args)
	}
}

// --add-scram bootstraps the first SCRAM user of a SASL listener, as
// kafka-storage format --add-scram does; a second start keeps it.
func TestAddScramBootstrapsAUser(t *testing.T) {
	data := t.TempDir()
	args := []string{"--override", "listeners=SASL_PLAINTEXT://127.0.0.1:0", "--override", "log.dirs=" + data,
		"--override", "sasl.enabled.mechanisms=SCRAM-SHA-512",
		"--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]"}
	addr, stop, logs := startBinary(t, args...)
	produce := func(addr, password string) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("t"), kgo.AllowAutoTopicCreation(),
			kgo.SASL(scram.Auth{User: "admin", Pass: password}.AsSha512Mechanism()), kgo.RequestRetries(0))
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr()
	}
	require.NoError(t, produce(addr, "admin-secret"))
	require.Error(t, produce(addr, "wrong"))
	require.NoError(t, stop())
	require.Contains(t, logs.String(), "created SCRAM user")

	// Restarted with a different password for the same user: the stored
	// credential stays (add-scram only creates).
	args[len(args)-1] = "SCRAM-SHA-512=[name=admin,password=other]"
	addr, stop, _ = startBinary(t, args...)
	require.NoError(t, produce(addr, "admin-secret"))
	require.NoError(t, stop())

	err := run(context.Background(), []string{"--override", "log.dirs=" + t.TempDir(), "--add-scram", "SCRAM-SHA-1=[name=a,password=b]"}, &syncBuffer{}, nil)
	require.ErrorContains(t, err, "want SCRAM-SHA-256 or SCRAM-SHA-512")
}
