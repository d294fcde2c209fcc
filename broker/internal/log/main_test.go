package log

import (
	"testing"

	"go.uber.org/goleak"
)

// The log starts no goroutines; goleak holds it to that.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
