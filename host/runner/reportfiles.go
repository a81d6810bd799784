package runner

import (
	"github.com/pipe-bench/pipe/host/engine"
	"github.com/pipe-bench/pipe/host/plugin"
	"github.com/pipe-bench/pipe/sdk/abi"
)

// writersBefore maps the file names a run directory holds that are written
// by no registered format — the journal, and the report files of the
// report plugins declared before p — to their writers, for
// report.CheckFileName: the first declared plugin keeps a name.
func (ps *plugins) writersBefore(p *plugin.Plugin) map[string]string {
	taken := map[string]string{engine.JournalName: "pipe's sample journal"}
	for _, q := range ps.with(abi.KindReport) {
		if q == p {
			break
		}
		if r := q.Manifest().Report; r != nil {
			taken[r.FileName] = "plugin " + q.Info().Name
		}
	}
	return taken
}
