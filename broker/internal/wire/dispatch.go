package wire

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// api is one served Kafka API: its version range and handler.
type api struct {
	min, max int16
	fn       func(s *Server, ctx context.Context, req *Request) (kmsg.Response, error)
}

// handler adapts a typed handler to the dispatch table. A handler returns the
// response to send, nil to send none (acks=0), or an error to close the
// connection (the request was valid framing but made no sense to answer).
func handler[R kmsg.Request](fn func(s *Server, ctx context.Context, req *Request, body R) (kmsg.Response, error)) func(*Server, context.Context, *Request) (kmsg.Response, error) {
	return func(s *Server, ctx context.Context, req *Request) (kmsg.Response, error) {
		body, ok := req.Body.(R)
		if !ok {
			return nil, fmt.Errorf("internal: request type %T for key %d", req.Body, req.Key)
		}
		return fn(s, ctx, req, body)
	}
}

const apiVersionsKey = 18

// apis is the dispatch table: every API key the broker serves, with the
// versions it serves. ApiVersions advertises exactly this table. Each API's
// file adds its entry with register from an init func, keeping the wiring
// beside the handler.
var apis = map[int16]api{}

func register(key, min, max int16, fn func(*Server, context.Context, *Request) (kmsg.Response, error)) {
	if _, dup := apis[key]; dup {
		panic(fmt.Sprintf("wire: api key %d registered twice", key))
	}
	apis[key] = api{min: min, max: max, fn: fn}
}

func apiFor(key int16) (api, bool) {
	a, ok := apis[key]
	return a, ok
}
