package broker_test

// Round trips with kcat, that is librdkafka, the C client under
// confluent-kafka-python/go/dotnet. Skipped only where kcat is not installed;
// CI installs it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

// kcat runs kcat with args and stdin, bounded by waitFor, and returns its
// standard output.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	require.NoError(t, err, "kcat %s\nstderr:\n%s", strings.Join(args, " "), stderr.String())
	return stdout.String()
}

func TestKcat(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat is not on PATH")
	}
	addr := startBroker(t).Addr()

	for _, tc := range []struct {
		codec  string
		stored batch.Codec
	}{
		{"none", batch.None},
		{"gzip", batch.Gzip},
		{"snappy", batch.Snappy},
		{"lz4", batch.LZ4},
		{"zstd", batch.Zstd},
	} {
		t.Run(tc.codec, func(t *testing.T) {
			t.Parallel()
			topic := "kcat-" + tc.codec // auto-created by kcat's first metadata request
			var in, want strings.Builder
			const n = 50
			for i := range n {
				v := strings.Repeat(fmt.Sprintf("value-%d.", i), 8) // compressible
				fmt.Fprintf(&in, "key-%d:%s\n", i, v)
				fmt.Fprintf(&want, "key-%d=%s\n", i, v)
			}
			kcat(t, in.String(), "-P", "-b", addr, "-t", topic, "-K:", "-X", "compression.codec="+tc.codec)

			out := kcat(t, "", "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-f", `%k=%s\n`)
			require.Equal(t, want.String(), out)

			c := dialWire(t, addr)
			stored := fetchAll(t, c, topic, 0, 0)
			require.Len(t, stored, n)
			for _, r := range stored {
				require.Equal(t, tc.stored, r.Batch.Compression(), "stored as kcat sent it")
			}
		})
	}

	t.Run("metadata", func(t *testing.T) {
		t.Parallel()
		createTopic(t, addr, "kcat-listed", 4, nil)
		out := kcat(t, "", "-L", "-J", "-b", addr)
		var md struct {
			Brokers []struct {
				ID   int32  `json:"id"`
				Name string `json:"name"`
			} `json:"brokers"`
			Topics []struct {
				Topic      string `json:"topic"`
				Partitions []struct {
					Partition int32 `json:"partition"`
					Leader    int32 `json:"leader"`
					Replicas  []struct {
						ID int32 `json:"id"`
					} `json:"replicas"`
					ISRs []struct {
						ID int32 `json:"id"`
					} `json:"isrs"`
				} `json:"partitions"`
			} `json:"topics"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &md), "kcat -L -J output:\n%s", out)
		require.Len(t, md.Brokers, 1)
		require.Equal(t, int32(1), md.Brokers[0].ID)
		require.Equal(t, addr, md.Brokers[0].Name)
		found := false
		for _, tp := range md.Topics {
			if tp.Topic != "kcat-listed" {
				continue
			}
			found = true
			require.Len(t, tp.Partitions, 4)
			for _, p := range tp.Partitions {
				require.Equal(t, int32(1), p.Leader)
				require.Len(t, p.Replicas, 1)
				require.Len(t, p.ISRs, 1)
			}
		}
		require.True(t, found, "topic listed in:\n%s", out)
	})
}
