// Package gen defines what a text generator is to pipe: something that takes
// prompt token ids and returns exactly the asked number of new tokens, with a
// monotonic timestamp for every one of them.
//
// The package takes a stand on timing: every timestamp in a Trace is a
// duration since the request's start instant, measured with Go's monotonic
// clock, and the request start is taken by the caller before tokenization, so
// TTFT as the README defines it (request start → first token id available after
// sampling) falls out of Trace without arithmetic on wall clocks.
//
// Implementations live in sub-packages (gen/ortgen for ONNX Runtime); tests use
// any Generator, including deliberately misbehaving ones.
package gen

import (
	"context"
	"time"

	"github.com/pipe-bench/pipe/sdk/schema"
)

// Generator produces tokens. A Generator is not safe for concurrent use
// unless it implements Concurrent.
type Generator interface {
	// Generate runs one request: prefill of every prompt row, then decode
	// steps until NewTokens tokens exist for every row.
	Generate(ctx context.Context, req Request) (*Trace, error)
	// Info describes the loaded model and runtime.
	Info() Info
	// Close releases the session and its buffers.
	Close() error
}

// Concurrent is implemented by generators whose Generate may be called from
// several goroutines at once (streams sharing one session).
type Concurrent interface {
	Generator
	ConcurrentSafe() bool
}

// Request is one generation request.
type Request struct {
	// Start is the request's start instant (before tokenization). Token
	// timestamps in the Trace are measured from it. Zero means "now".
	Start time.Time
	// TokenizeNS is the time the caller spent tokenizing, copied into the Trace.
	TokenizeNS int64
	// Prompts holds one row of token ids per batch element. Rows may differ
	// in length: generators left-pad them and mask the padding.
	Prompts [][]int64
	// NewTokens is the exact number of tokens to generate per row.
	NewTokens int
	// StopAtEOS ends a row at the model's EOS token. Off by default: a
	// benchmark forces the output length.
	StopAtEOS bool
	// Sampling selects the next token; the zero value is greedy.
	Sampling Sampling
}

// Sampling configures token selection (sdk/schema's type: it is recorded in
// every result). Temperature 0 means greedy (argmax).
type Sampling = schema.Sampling

// Trace is everything one request produced, before any metric is derived.
type Trace struct {
	// StartUnixNano is the wall-clock start, for the journal only.
	StartUnixNano int64 `json:"start_unix_ns"`
	// TokenizeNS is the time spent turning text into ids (0 for id prompts).
	TokenizeNS int64 `json:"tokenize_ns"`
	// PromptTokens is the length of each prompt row (before padding).
	PromptTokens []int `json:"prompt_tokens"`
	// TokenNS[i] is the time from request start until the i-th generated
	// token id (of all rows; one decode step yields one per row) was available.
	TokenNS []int64 `json:"token_ns"`
	// OutputIDs holds the generated ids per row.
	OutputIDs [][]int64 `json:"output_ids"`
	// RunNS is the time spent inside the runtime's Run call per step
	// (prefill first), so overhead outside the runtime can be reported.
	RunNS []int64 `json:"run_ns,omitempty"`
}

// Info describes a loaded model and the runtime that runs it, and Threads
// the runtime's threading (sdk/schema's types: they are recorded in every
// result).
type (
	Info    = schema.Model
	Threads = schema.Threads
)
