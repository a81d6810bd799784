package htmlreport

import "github.com/pipe-bench/pipe/host/internal/report"

// Files implements report.FileNamer: the registry claims report.html, so
// no report plugin may overwrite it.
func (Format) Files() []string { return []string{FileName} }

var _ report.FileNamer = Format{}
