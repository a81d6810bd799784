// Package result reads and writes pipe's versioned result schema: what a
// pipeline run found, written once as result.json and read back by reports,
// comparisons and later phases. The types live in sdk/schema, the public
// package plugins see; the names here are aliases of them.
//
// It takes a stand on durability: a result is written atomically (temporary file, then rename), and the raw runs travel with
// their aggregates, so every figure in a report can be recomputed. A
// number JSON cannot hold (NaN, ±Inf) never costs the file: it is written
// as null, or left out of a map, with a warning naming its field.
package result

import "github.com/pipe-bench/pipe/sdk/schema"

// Schema names the result format; a reader refuses other major versions.
const Schema = schema.Version

// The result types, defined (and documented) in sdk/schema.
type (
	Result          = schema.Result
	Memory          = schema.Memory
	Leak            = schema.Leak
	LeakStep        = schema.LeakStep
	Throughput      = schema.Throughput
	ThroughputPoint = schema.ThroughputPoint
	Input           = schema.Input
	PipelineInfo    = schema.PipelineInfo
	Env             = schema.Env
	Case            = schema.Case
	CaseParams      = schema.CaseParams
	Run             = schema.Run
	Verdict         = schema.Verdict
	PluginInfo      = schema.PluginInfo
	Shard           = schema.Shard
	CaseRef         = schema.CaseRef
	Resumed         = schema.Resumed
	Environment     = schema.Environment
)
