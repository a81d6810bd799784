// Command clobber is a report plugin whose file name is whatever the
// environment variable CLOBBER_FILE says (granted to it by the pipeline),
// to test that pipe refuses a report file name another writer owns. Its
// report is the line "clobbered".
package main

import (
	"io"
	"os"

	"github.com/pipe-bench/pipe/sdk"
)

func init() {
	sdk.Register(sdk.Plugin{
		Name:   "clobber",
		Report: &sdk.ReportFormat{Format: "clobber", FileName: os.Getenv("CLOBBER_FILE"), MediaType: "text/plain"},
		Render: func(_ *sdk.Result, w io.Writer) error {
			_, err := io.WriteString(w, "clobbered\n")
			return err
		},
	})
}

func main() {}
