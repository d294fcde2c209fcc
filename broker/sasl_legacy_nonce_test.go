package broker_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kspring/kspring/broker"
)

// A SCRAM exchange with librdkafka's pre-2.6.1 client-final nonce (kcat)
// is logged at info once per connection; a normal one (franz-go) is not.
func TestSASLLegacyNonceLogged(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	for k, v := range map[string]string{
		"listeners":               "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "SCRAM-SHA-256",
		"kspring.add.scram":       "SCRAM-SHA-256=[name=alice,password=alice-secret]",
		"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";`,
	} {
		require.NoError(t, cfg.Set(k, v))
	}
	core, logs := observer.New(zapcore.InfoLevel)
	b, err := broker.New(cfg, broker.WithLogger(zap.New(core)))
	require.NoError(t, err)
	require.NoError(t, b.Start(testCtx(t)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	legacy := func() *observer.ObservedLogs {
		return logs.FilterMessageSnippet("legacy librdkafka client-final nonce")
	}

	cl := newKgo(t, b.Addr(), kgo.SASL(scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism()),
		kgo.AllowAutoTopicCreation())
	produceSync(t, cl, &kgo.Record{Topic: "legacy", Value: []byte("franz-go")})
	require.Zero(t, legacy().Len(), "franz-go sends the RFC 5802 nonce")

	kcat(t, "kcat\n", "-b", b.Addr(), "-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanisms=SCRAM-SHA-256",
		"-X", "sasl.username=alice", "-X", "sasl.password=alice-secret", "-P", "-t", "legacy")
	entries := legacy().AllUntimed()
	require.NotEmpty(t, entries, "kcat's legacy nonce was logged")
	peers := map[string]bool{}
	for _, e := range entries {
		require.Equal(t, zapcore.InfoLevel, e.Level)
		peer := e.ContextMap()["peer"].(string)
		require.False(t, peers[peer], "logged twice for connection %s", peer)
		peers[peer] = true
		require.Equal(t, "alice", e.ContextMap()["user"])
	}
}
