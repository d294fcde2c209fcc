package framework

import (
	"errors"
	"fmt"
	"maps"
	"os"

	"github.com/IBM/sarama"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kspring/kspring/listener"
)

// Option configures [Module].
type Option func(*moduleOptions)

type moduleOptions struct {
	configFile string
	props      *Properties
	logger     *zap.Logger
}

// WithConfigFile reads configuration from path (application.yml, .yaml or
// .properties, or a comma-separated list of files and directories as
// Spring's spring.config.location; see [LoadProperties]). Without it, the
// module reads $KSPRING_CONFIG, else $SPRING_CONFIG_LOCATION, else the
// application.properties, .yml or .yaml in ./ and ./config/ that exist.
// $SPRING_CONFIG_ADDITIONAL_LOCATION adds locations over any of these.
// Profile-specific files and documents of the active profiles
// ($SPRING_PROFILES_ACTIVE or spring.profiles.active) layer over them.
func WithConfigFile(path string) Option { return func(o *moduleOptions) { o.configFile = path } }

// WithProperties uses p as the configuration instead of reading a file.
func WithProperties(p *Properties) Option { return func(o *moduleOptions) { o.props = p } }

// WithLogger makes the module provide l as the application's *zap.Logger.
// Without it, the module logs to stderr at info level, or at the level in
// $KSPRING_LOG_LEVEL (debug shows fx's own events).
func WithLogger(l *zap.Logger) Option { return func(o *moduleOptions) { o.logger = l } }

// Module is kspring's fx module. See the package documentation.
func Module(opts ...Option) fx.Option {
	var o moduleOptions
	for _, opt := range opts {
		opt(&o)
	}
	return fx.Options(fxLogger, fx.Module("kspring",
		fx.Provide(
			func() (*Properties, error) { return o.properties() },
			LoadConfig,
			func() (*zap.Logger, error) { return o.zapLogger() },
			newBootstrap,
			newClient,
			newTopics,
			newStringTemplate,
			newBytesTemplate,
			newRegistry,
			newHealth,
			LoadManagementConfig,
			newMeterRegistry,
			newObservability,
			newActuator,
		),
		// The registry is what starts listeners; invoke it so an
		// application with listeners needs nothing else.
		fx.Invoke(func(*listener.Registry) {}),
		// The actuator serves only if configured; invoke it so that it can.
		fx.Invoke(func(*Actuator) {}),
		fx.Invoke(logIgnoredProperties),
	))
}

// fxLogger sends fx's own events to the application's zap logger, at debug
// level for the routine ones. It applies to the whole application.
var fxLogger = fx.WithLogger(func(l *zap.Logger) fxevent.Logger {
	zl := &fxevent.ZapLogger{Logger: l.Named("fx")}
	zl.UseLogLevel(zapcore.DebugLevel)
	return zl
})

func (o *moduleOptions) properties() (*Properties, error) {
	if o.props != nil {
		return o.props, nil
	}
	path := o.configFile
	for _, env := range []string{"KSPRING_CONFIG", "SPRING_CONFIG_LOCATION"} {
		if path == "" {
			path = os.Getenv(env)
		}
	}
	if path == "" {
		path = "optional:./,optional:./config/"
	}
	if more := os.Getenv("SPRING_CONFIG_ADDITIONAL_LOCATION"); more != "" {
		path += "," + more
	}
	return LoadProperties(path, os.Environ())
}

func (o *moduleOptions) zapLogger() (*zap.Logger, error) {
	if o.logger != nil {
		return o.logger, nil
	}
	cfg := zap.NewDevelopmentConfig()
	level := zapcore.InfoLevel
	if v := os.Getenv("KSPRING_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("kspring: KSPRING_LOG_LEVEL %q: %w", v, err)
		}
	}
	cfg.Level = zap.NewAtomicLevelAt(level)
	cfg.DisableStacktrace = true
	cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	if os.Getenv("NO_COLOR") != "" || !isTerminal(os.Stderr) {
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
	}
	return cfg.Build()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// clientParams are what the shared sarama client is built from.
type clientParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Bootstrap *Bootstrap
	Logger    *zap.Logger
	// Obs is unused here, but resolving it first means a bad management
	// or observation setting fails the start before any client connects.
	Obs *observability
}

// newClient connects the shared sarama client that templates and the admin
// use. It is closed after every template.
func newClient(p clientParams) (sarama.Client, error) {
	sc, err := p.Config.producerConfig()
	if err != nil {
		return nil, err
	}
	c, err := sarama.NewClient(p.Bootstrap.Servers, sc)
	if err != nil {
		return nil, fmt.Errorf("kspring: connect to %v: %w", p.Bootstrap.Servers, err)
	}
	p.Lifecycle.Append(fx.StopHook(func() error {
		if err := c.Close(); err != nil && !errors.Is(err, sarama.ErrClosedClient) {
			return fmt.Errorf("kspring: close client: %w", err)
		}
		return nil
	}))
	return c, nil
}

// producerConfig maps spring.kafka.producer over the shared settings.
func (c Config) producerConfig() (*sarama.Config, error) {
	pc := c.Producer
	if pc.ClientID == "" {
		pc.ClientID = c.ClientID
	}
	pc.Properties = mergeProps(c.Properties, pc.Properties)
	sc, err := pc.Sarama()
	if err != nil {
		return nil, fmt.Errorf("kspring: spring.kafka.producer: %w", err)
	}
	if err := c.applySecurity(sc, producerClient); err != nil {
		return nil, fmt.Errorf("kspring: %w", err)
	}
	return sc, nil
}

func mergeProps(base, over map[string]string) map[string]string {
	if len(base) == 0 {
		return over
	}
	out := maps.Clone(base)
	maps.Copy(out, over)
	return out
}
