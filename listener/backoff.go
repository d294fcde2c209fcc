package listener

import (
	"math"
	"time"
)

// BackOff says how long to wait before delivering a failed record again, and
// when to stop, as Spring's BackOff. Implementations must be safe for
// concurrent use; the ones here are plain values.
type BackOff interface {
	// NextBackOff is called after the failures-th failed delivery of a
	// record (1 after the first). It returns the wait before the next
	// delivery, or false when the record must not be delivered again.
	NextBackOff(failures int) (time.Duration, bool)
}

// UnlimitedRetries, as a MaxRetries, never stops retrying.
const UnlimitedRetries = -1

// FixedBackOff waits Interval between deliveries and retries MaxRetries
// times: Spring's FixedBackOff(interval, maxAttempts), whose maxAttempts
// counts retries. The DefaultErrorHandler's default is
// FixedBackOff{Interval: 0, MaxRetries: 9}: ten deliveries in all.
type FixedBackOff struct {
	Interval   time.Duration
	MaxRetries int // retries after the first delivery; UnlimitedRetries for no bound
}

// NextBackOff implements BackOff.
func (b FixedBackOff) NextBackOff(failures int) (time.Duration, bool) {
	if b.MaxRetries != UnlimitedRetries && failures > b.MaxRetries {
		return 0, false
	}
	return b.Interval, true
}

// ExponentialBackOff waits InitialInterval, then each wait Multiplier times
// the last, never more than MaxInterval: Spring's ExponentialBackOff. It
// stops when the waits would add up to more than MaxElapsedTime, or after
// MaxRetries retries (Spring's ExponentialBackOffWithMaxRetries); zero for
// either means no such bound. Zero fields take Spring's defaults: 2s
// initial, multiplier 1.5, 30s max.
type ExponentialBackOff struct {
	InitialInterval time.Duration
	Multiplier      float64
	MaxInterval     time.Duration
	MaxElapsedTime  time.Duration
	MaxRetries      int
}

// NextBackOff implements BackOff.
func (b ExponentialBackOff) NextBackOff(failures int) (time.Duration, bool) {
	if b.MaxRetries > 0 && failures > b.MaxRetries {
		return 0, false
	}
	if b.MaxElapsedTime <= 0 {
		return b.interval(failures), true
	}
	var elapsed, d time.Duration
	for i := 1; i <= failures && elapsed <= b.MaxElapsedTime; i++ {
		d = b.interval(i)
		elapsed += d
	}
	if b.MaxElapsedTime > 0 && elapsed > b.MaxElapsedTime {
		return 0, false
	}
	return d, true
}

// interval returns the wait after the n-th failure.
func (b ExponentialBackOff) interval(n int) time.Duration {
	initial, mult, ceiling := b.InitialInterval, b.Multiplier, b.MaxInterval
	if initial <= 0 {
		initial = 2 * time.Second
	}
	if mult <= 0 {
		mult = 1.5
	}
	if ceiling <= 0 {
		ceiling = 30 * time.Second
	}
	f := float64(initial) * math.Pow(mult, float64(n-1))
	if f >= float64(ceiling) || math.IsInf(f, 0) || math.IsNaN(f) {
		return ceiling
	}
	return time.Duration(f)
}
