// Package analysis draws the cross-run conclusions of the memory and
// throughput phases from a finished result: does memory grow per run (a
// leak), and where does adding concurrency stop adding throughput.
//
// It takes a stand on verdicts: a verdict follows from a confidence
// interval, not from a point estimate. A leak is called only when the whole
// 95 % interval of the RSS slope lies above the threshold, "no leak" only
// when it lies below; anything else is "inconclusive", with the reason. The
// slope is Theil–Sen's (the median of pairwise slopes), fitted within the
// segments between level steps (an arena growing or being trimmed once is
// a step, not a slope), with Sen's distribution-free interval widened for
// the residuals' autocorrelation. Saturation is called only when the whole
// interval of the next step's gain lies below the saturation gain.
//
// Its verdicts are stored in the result (result.Memory.Leak,
// result.Throughput) when the run ends; host/internal/report's Analysis,
// the one model every report renders, reads them from there and
// recomputes none of them.
package analysis
