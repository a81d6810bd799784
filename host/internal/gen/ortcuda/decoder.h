// A decoder session whose KV cache stays where the execution provider puts
// it: present outputs are bound to the device and handed back as the next
// step's past inputs, and only the last position's logits per row are copied
// to the host. Errors are returned as malloc'd strings (NULL on success).

#ifndef PIPE_ORTCUDA_DECODER_H
#define PIPE_ORTCUDA_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "onnxruntime_c_api.h"

// pc_layout names the decoder's inputs and outputs. position_ids and
// use_cache_branch may be NULL. past and present hold 2*layers names:
// key, value of layer 0, then layer 1, ...
typedef struct pc_layout {
  const char* input_ids;
  const char* attention_mask;
  const char* position_ids;
  const char* use_cache_branch;
  const char* logits;
  const char** past;
  const char** present;
  int layers;
  int64_t kv_heads;
  int64_t head_dim;
  int64_t vocab;
  // Element types of the cache and the logits (ONNXTensorElementDataType:
  // FLOAT, FLOAT16 or BFLOAT16); 0 means FLOAT.
  int kv_type;
  int logits_type;
  // Bytes of one logit (Go's sdk/schema ElemTypes: the one home of the
  // element-size rule).
  size_t logits_size;
  // 1 when the graph's logits hold one position per row ([batch, 1, vocab]:
  // the LM head runs on the last position only); the step's logits buffer
  // is then batch*vocab.
  int logits_last_only;
} pc_layout;

// pc_options configures the session.
typedef struct pc_options {
  int cuda;  // 1: CUDA execution provider, KV on the GPU; 0: CPU (tests)
  int device_id;
  int intra_op_threads;  // 0: the runtime's default
  int inter_op_threads;
  int opt_level;  // GraphOptimizationLevel
  const char** config_keys;  // session config entries
  const char** config_values;
  size_t n_config;
  const char** provider_keys;  // CUDA provider options
  const char** provider_values;
  size_t n_provider;
} pc_options;

typedef struct pc_decoder pc_decoder;

// pc_load binds to the ONNX Runtime library at path (already loaded into the
// process by onnxruntime_go) and returns its version in *version.
char* pc_load(const char* path, const char** version);

// pc_open creates a session for model_path with layout l (copied). *kind is
// 1 when the CUDA execution provider is missing, 2 when a provider option is
// refused, 0 otherwise.
char* pc_open(const char* model_path, const pc_layout* l, const pc_options* o, pc_decoder** out, int* kind);

// pc_close releases the session, its binding and the cached KV values.
void pc_close(pc_decoder* d);

// pc_step runs seq new positions for batch rows on top of past cached ones.
// ids and pos hold batch*seq values, mask batch*(past+seq). With past == 0 the
// cache is dropped and empty past tensors are bound. On success the presents
// become the cache and row r's logits at position rows[r] (seq - 1 when rows
// is NULL) are written, in the logits' element type, to logits at the same
// offset as in the graph's output: (r*seq + rows[r])*vocab elements, or r*vocab
// when the graph's logits hold one position per row. *run_ns is the time
// inside RunWithBinding.
char* pc_step(pc_decoder* d, int64_t batch, int64_t seq, int64_t past, const int64_t* ids,
              const int64_t* mask, const int64_t* pos, const int64_t* rows, void* logits, int64_t* run_ns);

// pc_logits_path says how logits reach the host: "device+cudaMemcpy",
// "host-bound" (the runtime copies all logits) or "cpu".
const char* pc_logits_path(const pc_decoder* d);

#endif
