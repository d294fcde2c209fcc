// Command kspring-broker runs kspring's Kafka-compatible broker, the way
// Kafka's start script runs Kafka:
//
//	kspring-broker [server.properties] [--override key=value ...] [--add-scram ...] [--startup-timeout 1m]
//
// --add-scram 'SCRAM-SHA-512=[name=admin,password=admin-secret]' creates a
// SCRAM user in the metadata quorum at start unless it exists, as Kafka's
// kafka-storage format --add-scram does (property kspring.add.scram).
//
// Properties use Kafka's names (listeners, advertised.listeners, log.dirs,
// node.id, num.partitions, auto.create.topics.enable, log.segment.bytes,
// log.retention.ms, ...). With no arguments it listens on 127.0.0.1:9092 and
// keeps its data in a directory under the system's temporary directory,
// named in its first log lines. SIGINT or SIGTERM shut it down cleanly: the
// requests in flight are answered and every log is flushed.
//
// A broker of a cluster (controller.quorum.voters naming several nodes)
// starts serving once the metadata quorum has a leader and has let it in.
// --startup-timeout (default 1m) bounds that wait: a broker whose quorum
// peers are unreachable for that long exits with status 1 and says it was
// waiting for the controller quorum. A configuration it cannot run (a
// malformed controller.quorum.voters, one that does not name node.id) exits
// with status 1 at once, naming the property.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kspring/kspring/broker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "kspring-broker:", err)
		os.Exit(1)
	}
}

// overrides collects repeated --override key=value flags.
type overrides []string

func (o *overrides) String() string     { return strings.Join(*o, ",") }
func (o *overrides) Set(v string) error { *o = append(*o, v); return nil }

// run runs the broker until ctx ends. started, if not nil, gets the
// broker's address once it serves.
func run(ctx context.Context, args []string, stderr io.Writer, started func(addr string)) error {
	fs := flag.NewFlagSet("kspring-broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ov overrides
	fs.Var(&ov, "override", "a server property as key=value; repeatable")
	var scramUsers overrides
	fs.Var(&scramUsers, "add-scram", "a SCRAM user to create at start if missing, as kafka-storage format's: 'SCRAM-SHA-512=[name=alice,password=alice-secret]'; repeatable")
	startupTimeout := fs.Duration("startup-timeout", time.Minute,
		"how long to wait for the controller quorum and the registration before giving up")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kspring-broker [server.properties] [--override key=value ...] [--add-scram 'SCRAM-SHA-512=[name=u,password=p]' ...] [--startup-timeout 1m]")
		fs.PrintDefaults()
	}
	// Accept the properties file before or after the flags, as Kafka does.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 || fs.NArg() == 1 && file != "" {
		fs.Usage()
		return errors.New("too many arguments")
	}
	if fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if *startupTimeout <= 0 {
		return fmt.Errorf("--startup-timeout %v: want a positive duration", *startupTimeout)
	}

	logger, err := newLogger(stderr)
	if err != nil {
		return err
	}
	defer logger.Sync() //nolint:errcheck // stderr sync errors are not actionable

	cfg := broker.DefaultConfig()
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		unknown, err := cfg.LoadProperties(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		for _, k := range unknown {
			logger.Warn("ignoring unknown property", zap.String("key", k), zap.String("file", file))
		}
	}
	for _, o := range ov {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return fmt.Errorf("--override %q: want key=value", o)
		}
		if err := cfg.Set(k, v); err != nil {
			return fmt.Errorf("--override: %w", err)
		}
	}
	cfg.Security.AddScram = append(cfg.Security.AddScram, scramUsers...)
	if len(cfg.LogDirs) == 0 {
		cfg.LogDirs = []string{filepath.Join(os.TempDir(), "kspring-logs")}
	}
	logger.Info("kspring broker starting", zap.Strings("log.dirs", cfg.LogDirs), zap.Strings("listeners", cfg.Listeners))

	b, err := broker.New(cfg, broker.WithLogger(logger))
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, *startupTimeout)
	err = b.Start(startCtx)
	timedOut := errors.Is(startCtx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil {
		_ = b.Close(context.Background())
		if timedOut {
			return fmt.Errorf("not started within --startup-timeout %v (controller.quorum.voters=%s): %w",
				*startupTimeout, strings.Join(cfg.ControllerQuorumVoters, ","), err)
		}
		return err
	}
	if started != nil {
		started(b.Addr())
	}
	<-ctx.Done()
	logger.Info("shutting down")
	closeCtx, cancel := context.WithTimeout(context.Background(), b.Config().ControlledShutdownTimeout)
	defer cancel()
	return b.Close(closeCtx)
}

func newLogger(w io.Writer) (*zap.Logger, error) {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	level := zapcore.InfoLevel
	if v := os.Getenv("KSPRING_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("KSPRING_LOG_LEVEL %q: %w", v, err)
		}
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), level)
	return zap.New(core), nil
}
