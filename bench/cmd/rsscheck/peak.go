package main

import (
	"context"
	"sync"
	"time"
)

// peakSampler reads VmRSS every interval and keeps the largest value seen
// since the last Take, so a checkpoint can report the peak of the stretch
// that led to it rather than one point of the GC's sawtooth.
type peakSampler struct {
	read func() (int64, error)

	mu   sync.Mutex
	peak int64
	err  error
	done chan struct{}
}

// startPeakSampler samples VmRSS until ctx ends; Wait waits for it to stop.
func startPeakSampler(ctx context.Context, interval time.Duration) *peakSampler {
	return startSampler(ctx, interval, func() (int64, error) {
		st, err := readStatus()
		return st.VmRSS, err
	})
}

func startSampler(ctx context.Context, interval time.Duration, read func() (int64, error)) *peakSampler {
	s := &peakSampler{read: read, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *peakSampler) sample() {
	v, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.err = err
		return
	}
	s.peak = max(s.peak, v)
}

// Take samples once more and returns the peak since the last Take, resetting it.
func (s *peakSampler) Take() (int64, error) {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.peak, s.err
	s.peak = 0
	return p, err
}

// Wait waits until the sampler has stopped (after its ctx ended).
func (s *peakSampler) Wait() { <-s.done }
