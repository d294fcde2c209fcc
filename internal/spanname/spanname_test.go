package spanname

import (
	"strconv"
	"testing"
)

func TestName(t *testing.T) {
	c := New("publish")
	if got := c.Name("orders"); got != "publish orders" {
		t.Fatalf("Name = %q, want %q", got, "publish orders")
	}
	for i := range max + 10 {
		topic := "t" + strconv.Itoa(i)
		if got := c.Name(topic); got != "publish "+topic {
			t.Fatalf("Name(%q) = %q", topic, got)
		}
	}
	if len(c.names) != max {
		t.Fatalf("%d names kept, want the bound %d", len(c.names), max)
	}
}
