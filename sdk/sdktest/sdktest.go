// Package sdktest runs a registered plugin natively in a Go test, through
// sdk.Handle — the same dispatcher the wasm exports call — and the same
// encodings and input projection the host uses. A plugin that forgot to ask
// for an input sees it missing here, as it would in pipe.
//
//	func TestJitter(t *testing.T) {
//		res := sdktest.LoadResult(t, "testdata/result.json")
//		perRun, corpus, err := sdktest.Metric(t, sdktest.RunsOf(res))
//		…
//	}
package sdktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/pipe-bench/pipe/sdk"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// StatusError is a non-OK status from the plugin, as pipe would see it.
type StatusError struct {
	Export  string
	Status  int32
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: status %d: %s", e.Export, e.Status, e.Message)
}

func call(t testing.TB, export string, in []byte) ([]byte, error) {
	t.Helper()
	if sdk.Registered() == nil {
		t.Fatal("sdktest: no plugin registered: call sdk.Register from init() in the package under test")
	}
	var out bytes.Buffer
	status, msg := sdk.Handle(export, in, &out)
	if status != sdk.StatusOK {
		return nil, &StatusError{Export: export, Status: status, Message: msg}
	}
	return out.Bytes(), nil
}

// Describe returns the plugin's manifest, failing the test when pipe would
// refuse it.
func Describe(t testing.TB) abi.Manifest {
	t.Helper()
	out, err := call(t, abi.ExportDescribe, nil)
	if err != nil {
		t.Fatal(err)
	}
	var m abi.Manifest
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("sdktest: manifest: %v", err)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return m
}

// Configure passes cfg (anything that marshals to a JSON object, e.g. a
// map from a pipeline's TOML table) to the plugin.
func Configure(t testing.TB, cfg any) error {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("sdktest: config: %v", err)
	}
	_, err = call(t, abi.ExportConfigure, b)
	return err
}

// Metric runs the plugin's metric over runs, sending only what its
// manifest asks for.
func Metric(t testing.TB, runs []sdk.Run) (perRun []sdk.Values, corpus sdk.Values, err error) {
	t.Helper()
	m := Describe(t)
	out, err := call(t, abi.ExportMetric, abi.EncodeBatch(runs, abi.ProjectionOf(&m)))
	if err != nil {
		return nil, nil, err
	}
	mo, err := abi.DecodeMetricOutput(out)
	if err != nil {
		t.Fatalf("sdktest: pipe would refuse this output: %v", err)
	}
	return mo.PerRun, mo.Corpus, nil
}

// Target runs the plugin's target over r.
func Target(t testing.TB, r *sdk.Result) ([]sdk.Verdict, error) {
	t.Helper()
	m := Describe(t)
	in, err := abi.EncodeResult(r, abi.ProjectionOf(&m))
	if err != nil {
		t.Fatalf("sdktest: encode result: %v", err)
	}
	out, err := call(t, abi.ExportTarget, in)
	if err != nil {
		return nil, err
	}
	var to abi.TargetOutput
	if err := json.Unmarshal(out, &to); err != nil {
		t.Fatalf("sdktest: verdicts: %v", err)
	}
	return to.Verdicts, nil
}

// Report renders r with the plugin's report and returns the file's bytes.
func Report(t testing.TB, r *sdk.Result) ([]byte, error) {
	t.Helper()
	m := Describe(t)
	in, err := abi.EncodeResult(r, abi.ProjectionOf(&m))
	if err != nil {
		t.Fatalf("sdktest: encode result: %v", err)
	}
	return call(t, abi.ExportReport, in)
}

// LoadResult reads a result.json fixture.
func LoadResult(t testing.TB, path string) *sdk.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	var r sdk.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("sdktest: %s: %v", path, err)
	}
	return &r
}

// RunsOf flattens a result's runs into a metric batch, case by case.
func RunsOf(r *sdk.Result) []sdk.Run {
	var runs []sdk.Run
	for i := range r.Cases {
		c := &r.Cases[i]
		for j := range c.Runs {
			runs = append(runs, abi.RunOf(c, &c.Runs[j]))
		}
	}
	return runs
}

// Run is a run in a metric batch (sdk.Run), for building fixtures.
type Run = sdk.Run

// Result is a whole pipeline result (sdk.Result), for building fixtures.
type Result = sdk.Result
