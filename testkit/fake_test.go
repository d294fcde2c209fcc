package testkit_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakeT is a testing.TB that records failures instead of failing, so tests
// can check what the testkit reports, and so Examples (which get no *testing.T)
// can run test code. With a parent, Name, TempDir, Setenv and Log go to the
// parent; without one, fakeT makes its own and discards logs.
type fakeT struct {
	testing.TB // the parent, or nil: methods not overridden here panic then
	name       string

	mu       sync.Mutex
	cleanups []func()
	failures []string
	skipped  string
	dirs     []string
}

// run calls fn with a fresh fakeT on its own goroutine (Fatal ends it as in
// a test), then runs the cleanups, and returns the fakeT to inspect.
func run(parent testing.TB, fn func(t testing.TB)) *fakeT {
	ft := &fakeT{TB: parent, name: "Example"}
	if parent != nil {
		ft.name = parent.Name()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ft)
	}()
	<-done
	ft.mu.Lock()
	cleanups := ft.cleanups
	ft.cleanups = nil
	ft.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, d := range ft.dirs {
		os.RemoveAll(d)
	}
	return ft
}

// example runs test code in an Example and prints what failed, so that the
// Example's output check fails with the reason.
func example(fn func(t testing.TB)) {
	ft := run(nil, fn)
	for _, f := range ft.failures {
		fmt.Println("FAIL:", f)
	}
	if ft.skipped != "" {
		fmt.Println("SKIP:", ft.skipped)
	}
}

// failure runs fn and returns what it reported, failing t if it reported
// nothing.
func failure(t *testing.T, fn func(t testing.TB)) string {
	t.Helper()
	ft := run(t, fn)
	if len(ft.failures) == 0 {
		t.Fatalf("want a failure, got none")
	}
	return strings.Join(ft.failures, "\n")
}

func (f *fakeT) Helper()      {}
func (f *fakeT) Name() string { return f.name }

func (f *fakeT) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fakeT) TempDir() string {
	d, err := os.MkdirTemp("", "testkit-fake-")
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirs = append(f.dirs, d)
	return d
}

func (f *fakeT) Context() context.Context { return context.Background() }

func (f *fakeT) Log(args ...any) {
	if f.TB != nil {
		f.TB.Log(args...)
	}
}

func (f *fakeT) Logf(format string, args ...any) {
	if f.TB != nil {
		f.TB.Logf(format, args...)
	}
}

func (f *fakeT) Error(args ...any)                 { f.fail(fmt.Sprint(args...)) }
func (f *fakeT) Errorf(format string, args ...any) { f.fail(fmt.Sprintf(format, args...)) }
func (f *fakeT) Fail()                             { f.fail("Fail called") }
func (f *fakeT) Fatal(args ...any)                 { f.fail(fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeT) Fatalf(format string, args ...any) {
	f.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fakeT) FailNow() { f.fail("FailNow called"); runtime.Goexit() }

func (f *fakeT) Skip(args ...any)                 { f.skip(fmt.Sprint(args...)) }
func (f *fakeT) Skipf(format string, args ...any) { f.skip(fmt.Sprintf(format, args...)) }
func (f *fakeT) SkipNow()                         { f.skip("SkipNow called") }

func (f *fakeT) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.failures) > 0
}

func (f *fakeT) Skipped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.skipped != ""
}

func (f *fakeT) fail(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, msg)
}

func (f *fakeT) skip(msg string) {
	f.mu.Lock()
	f.skipped = msg
	f.mu.Unlock()
	runtime.Goexit()
}
