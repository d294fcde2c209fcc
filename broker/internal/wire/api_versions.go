package wire

// ApiVersions (key 18), versions 0-3.
// Advertises the dispatch table. A request at a version above 3 is answered at
// v0 with UNSUPPORTED_VERSION and the ApiVersions range, so the client retries
// at a version we serve (KIP-511). The response header is always v0.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(apiVersionsKey, 0, 3, handler((*Server).handleApiVersions)) }

func (s *Server) handleApiVersions(_ context.Context, req *Request, body *kmsg.ApiVersionsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.SetVersion(body.Version)
	if req.Unsupported {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		a := apis[apiVersionsKey]
		resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: apiVersionsKey, MinVersion: a.min, MaxVersion: a.max}}
		return resp, nil
	}
	keys := make([]int16, 0, len(apis))
	for k := range apis {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a := apis[k]
		resp.ApiKeys = append(resp.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: a.min, MaxVersion: a.max})
	}
	return resp, nil
}
