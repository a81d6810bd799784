package sdk_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pipe-bench/pipe/sdk"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// mode steers the test plugin's Metric.
var mode string

type settings struct {
	Limit float64 `json:"limit"`
}

var cfg settings

func init() {
	sdk.Register(sdk.Plugin{
		Name:    "probe",
		Metrics: []sdk.MetricDef{{ID: "probe.n", Unit: "1", Better: sdk.Higher}},
		Configure: func(c sdk.Config) error {
			var s settings
			if err := c.Decode(&s); err != nil {
				return err
			}
			cfg = s
			return nil
		},
		Metric: func(runs []sdk.Run) ([]sdk.Values, sdk.Values, error) {
			switch mode {
			case "panic":
				var xs []int
				_ = xs[len(runs)+3]
			case "error":
				return nil, nil, errors.New("limit too low")
			case "short":
				return nil, nil, nil
			}
			out := make([]sdk.Values, len(runs))
			for i := range runs {
				out[i] = sdk.Values{"probe.n": float64(i)}
			}
			return out, nil, nil
		},
	})
}

func TestHandle(t *testing.T) {
	batch := abi.EncodeBatch([]abi.Run{{Case: "c"}, {Case: "c"}}, abi.Projection{})
	tests := []struct {
		name   string
		mode   string
		export string
		input  []byte
		status int32
		msg    string
	}{
		{"describe", "", abi.ExportDescribe, nil, sdk.StatusOK, ""},
		{"configure", "", abi.ExportConfigure, []byte(`{"limit":3}`), sdk.StatusOK, ""},
		{"metric", "", abi.ExportMetric, batch, sdk.StatusOK, ""},
		// :-( sad paths
		{"config typo", "", abi.ExportConfigure, []byte(`{"limt":3}`), sdk.StatusError, `config: unknown field "limt"`},
		{"config not an object", "", abi.ExportConfigure, []byte(`[1]`), sdk.StatusBadInput, "want a JSON object"},
		{"batch garbage", "", abi.ExportMetric, []byte("nonsense"), sdk.StatusBadInput, "not a batch frame"},
		{"panic", "panic", abi.ExportMetric, batch, sdk.StatusError, "panic: runtime error: index out of range [5] with length 0 at sdk_test.go:"},
		{"error", "error", abi.ExportMetric, batch, sdk.StatusError, "limit too low"},
		{"wrong count", "short", abi.ExportMetric, batch, sdk.StatusError, "Metric returned 0 values for 2 runs"},
		{"not a target plugin", "", abi.ExportTarget, []byte(`{}`), sdk.StatusError, "plugin probe is not a target plugin"},
		{"unknown export", "", "pipe_frobnicate", nil, sdk.StatusBadInput, `unknown export "pipe_frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode = tt.mode
			var out bytes.Buffer
			status, msg := sdk.Handle(tt.export, tt.input, &out)
			if status != tt.status || !strings.Contains(msg, tt.msg) {
				t.Fatalf("Handle = %d %q, want %d and a message containing %q", status, msg, tt.status, tt.msg)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	var out bytes.Buffer
	if status, msg := sdk.Handle(abi.ExportDescribe, nil, &out); status != sdk.StatusOK {
		t.Fatal(msg)
	}
	var m abi.Manifest
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "probe" || strings.Join(m.Kinds, ",") != "metric" || m.SDK != sdk.Name {
		t.Errorf("manifest = %+v", m)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `plugin "probe" already registered`) {
			t.Errorf("recover() = %v", r)
		}
	}()
	sdk.Register(sdk.Plugin{Name: "other", Target: func(*sdk.Result) ([]sdk.Verdict, error) { return nil, nil }})
}
