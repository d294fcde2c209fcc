package target

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A target in a child process. [Spawn] re-executes the running binary with
// the Spec in the environment; the binary's main (or TestMain) calls
// [IsChild] first and, if true, hands over to [RunChild]. The child starts
// the target, writes "addr <host:port>" on stdout and then answers each
// "cpu" line on stdin with "cpu <nanoseconds>", its own CPU time so far.
// A cluster also takes control lines (see clusterControl: "kill 2",
// "leader t 0", ...), answered "ok <value>" or "err <message>". When stdin
// closes it closes the target (kspring flushes its logs) and exits.
//
// A broker in its own process is what a client meets in production; it
// also keeps the two heaps apart, so that the client's garbage collector
// does not pace itself on the broker's live data (kfake keeps every record
// in memory, kspring keeps them on disk) and each side's CPU time can be
// measured on its own.

// envSpec carries the JSON-encoded Spec to the child.
const envSpec = "KSPRING_BENCH_TARGET"

// IsChild reports whether this process was started by [Spawn].
func IsChild() bool { return os.Getenv(envSpec) != "" }

// RunChild serves the target the environment describes until stdin closes,
// and returns the exit code for os.Exit.
func RunChild() int {
	if err := runChild(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "target child: %v\n", err)
		return 1
	}
	return 0
}

func runChild(in *os.File, out *os.File) error {
	var spec Spec
	if err := json.Unmarshal([]byte(os.Getenv(envSpec)), &spec); err != nil {
		return fmt.Errorf("decode %s: %w", envSpec, err)
	}
	spec.Process = false
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t, err := startHere(ctx, spec)
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "addr %s\n", t.Addr)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == "cpu":
			fmt.Fprintf(out, "cpu %d\n", ownCPU().Nanoseconds())
		case t.control != nil:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			v, err := t.control(ctx, line)
			cancel()
			if err != nil {
				fmt.Fprintf(out, "err %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
			} else {
				fmt.Fprintf(out, "ok %s\n", v)
			}
		default:
			fmt.Fprintf(os.Stderr, "target child: unknown request %q\n", line)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return errors.Join(sc.Err(), t.Close(ctx))
}

// ownCPU is this process's user + system CPU time.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Spawn starts the target spec names in a child process: this binary,
// re-executed, which must call [IsChild] and [RunChild] before anything
// else. ctx bounds the start; the Target's Close ends the child.
func Spawn(ctx context.Context, spec Spec) (*Target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("target %s: spawn: %w", spec.Name, err)
	}
	env, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("target %s: spawn: %w", spec.Name, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("target %s: spawn: %w", spec.Name, err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envSpec+"="+string(env))
	cmd.Stdout, cmd.Stderr = w, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	w.Close() // the child has its copy
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("target %s: spawn: %w", spec.Name, err)
	}
	c := &child{cmd: cmd, stdin: stdin, stdout: r, lines: bufio.NewReader(r)}
	addr, err := c.await(ctx, "addr")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("target %s: spawn: %w", spec.Name, err), c.close(ctx))
	}
	t := &Target{Name: spec.Name, Addr: addr, close: c.close, cpu: c.cpu}
	if spec.Name == NameKspringCluster {
		t.control = c.control
	}
	return t, nil
}

// child is the parent's handle on a target process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *os.File
	mu     sync.Mutex // serializes requests and their answers
	lines  *bufio.Reader
}

// await reads the child's next line of the given kind and returns its
// value; ctx's deadline bounds the wait.
func (c *child) await(ctx context.Context, kind string) (string, error) {
	_, v, err := c.awaitAny(ctx, kind)
	return v, err
}

// awaitAny reads the child's next line, which must be of one of the given
// kinds, and returns its kind and value.
func (c *child) awaitAny(ctx context.Context, kinds ...string) (kind, value string, err error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	if err := c.stdout.SetReadDeadline(deadline); err != nil {
		return "", "", err
	}
	line, err := c.lines.ReadString('\n')
	if err != nil {
		return "", "", fmt.Errorf("read %q from child: %w", kinds, err)
	}
	for _, kind := range kinds {
		if value, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), kind+" "); ok {
			return kind, value, nil
		}
	}
	return "", "", fmt.Errorf("child answered %q, want %q", line, kinds)
}

// control sends a control line to a cluster and returns its answer.
func (c *child) control(ctx context.Context, line string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.stdin.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	kind, v, err := c.awaitAny(ctx, "ok", "err")
	if err != nil {
		return "", err
	}
	if kind == "err" {
		return "", errors.New(v)
	}
	return v, nil
}

func (c *child) cpu(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.stdin.Write([]byte("cpu\n")); err != nil {
		return 0, err
	}
	v, err := c.await(ctx, "cpu")
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	return time.Duration(ns), err
}

// close closes the child's stdin, which tells it to shut down, and waits
// for it to exit; when ctx ends first the child is killed.
func (c *child) close(ctx context.Context) error {
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = errors.Join(ctx.Err(), c.cmd.Process.Kill())
		<-done
	}
	c.stdout.Close()
	if err != nil {
		return fmt.Errorf("child %d: %w", c.cmd.Process.Pid, err)
	}
	return nil
}
