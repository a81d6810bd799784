#include "decoder.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const OrtApi* api;
static OrtEnv* env;
static const char* ort_version;

// The CUDA runtime that the CUDA execution provider loaded, for copying the
// last position's logits out of device memory.
typedef int (*cuda_memcpy_fn)(void* dst, const void* src, size_t n, int kind);
typedef int (*cuda_set_device_fn)(int device);
typedef const char* (*cuda_error_string_fn)(int err);
static cuda_memcpy_fn cuda_memcpy;
static cuda_set_device_fn cuda_set_device;
static cuda_error_string_fn cuda_error_string;
enum { cuda_memcpy_device_to_host = 2 };

struct pc_decoder {
  OrtSession* sess;
  OrtIoBinding* bind;
  OrtMemoryInfo* kv_mem;      // where presents are allocated (the device)
  OrtMemoryInfo* logits_mem;  // where logits are allocated
  OrtMemoryInfo* cpu_mem;     // host inputs
  OrtAllocator* cpu_alloc;
  OrtRunOptions* run_opts;
  pc_layout l;
  int cuda;
  int device_id;
  int copy_rows;  // logits stay on the device; rows are copied with cudaMemcpy
  OrtValue** kv;  // 2*layers cached presents, NULL when the cache is empty
  uint8_t use_cache;
  float empty;  // data pointer for empty past tensors
};

static char* joinf(const char* a, const char* b) {
  size_t n = strlen(a) + strlen(b) + 3;
  char* s = malloc(n);
  if (s) snprintf(s, n, "%s: %s", a, b);
  return s;
}

// fail turns a status into a malloc'd message "what: runtime message".
static char* fail(OrtStatus* st, const char* what) {
  char* s = joinf(what, api->GetErrorMessage(st));
  api->ReleaseStatus(st);
  return s;
}

#define TRY(call, what)              \
  do {                               \
    OrtStatus* st_ = (call);         \
    if (st_) return fail(st_, what); \
  } while (0)

char* pc_load(const char* path, const char** version) {
  if (api) {
    *version = ort_version;
    return NULL;
  }
  void* h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (!h) h = dlopen(path, RTLD_NOW);
  if (!h) return joinf("dlopen", dlerror());
  typedef const OrtApiBase* (*base_fn)(void);
  base_fn get_base = (base_fn)dlsym(h, "OrtGetApiBase");
  if (!get_base) return joinf("dlsym OrtGetApiBase", dlerror());
  const OrtApiBase* base = get_base();
  const OrtApi* a = base->GetApi(ORT_API_VERSION);
  if (!a) return joinf("C API version 24 not offered by", base->GetVersionString());
  api = a;
  // The environment is a process-wide singleton: this returns the one
  // onnxruntime_go created (its logging settings win).
  OrtStatus* st = api->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "pipe", &env);
  if (st) {
    char* e = fail(st, "create environment");
    api = NULL;
    return e;
  }
  ort_version = base->GetVersionString();
  *version = ort_version;
  return NULL;
}

static void load_cudart(void) {
  if (cuda_memcpy) return;
  static const char* names[] = {"libcudart.so.13", "libcudart.so.12", "libcudart.so"};
  void* h = NULL;
  for (size_t i = 0; i < 3 && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_NOLOAD);
  for (size_t i = 0; i < 3 && !h; i++) h = dlopen(names[i], RTLD_NOW);
  if (!h) return;
  cuda_set_device = (cuda_set_device_fn)dlsym(h, "cudaSetDevice");
  cuda_error_string = (cuda_error_string_fn)dlsym(h, "cudaGetErrorString");
  cuda_memcpy_fn m = (cuda_memcpy_fn)dlsym(h, "cudaMemcpy");
  if (cuda_set_device && cuda_error_string) cuda_memcpy = m;
}

static char* strdup_or_null(const char* s) { return s ? strdup(s) : NULL; }

static void free_layout(pc_layout* l) {
  free((char*)l->input_ids);
  free((char*)l->attention_mask);
  free((char*)l->position_ids);
  free((char*)l->use_cache_branch);
  free((char*)l->logits);
  for (int i = 0; l->past && i < 2 * l->layers; i++) free((char*)l->past[i]);
  for (int i = 0; l->present && i < 2 * l->layers; i++) free((char*)l->present[i]);
  free(l->past);
  free(l->present);
}

static void drop_cache(pc_decoder* d) {
  for (int i = 0; i < 2 * d->l.layers; i++) {
    if (d->kv[i]) api->ReleaseValue(d->kv[i]);
    d->kv[i] = NULL;
  }
}

void pc_close(pc_decoder* d) {
  if (!d) return;
  if (d->kv) {
    drop_cache(d);
    free(d->kv);
  }
  if (d->bind) api->ReleaseIoBinding(d->bind);
  if (d->sess) api->ReleaseSession(d->sess);
  if (d->run_opts) api->ReleaseRunOptions(d->run_opts);
  if (d->kv_mem) api->ReleaseMemoryInfo(d->kv_mem);
  if (d->logits_mem && d->logits_mem != d->kv_mem && d->logits_mem != d->cpu_mem)
    api->ReleaseMemoryInfo(d->logits_mem);
  if (d->cpu_mem) api->ReleaseMemoryInfo(d->cpu_mem);
  free_layout(&d->l);
  free(d);
}

// session_options builds the options; *kind is set to 1 when the CUDA
// provider is missing and 2 when a provider option is refused.
static char* session_options(const pc_options* o, OrtSessionOptions** out, int* kind) {
  OrtSessionOptions* so = NULL;
  TRY(api->CreateSessionOptions(&so), "session options");
  char* err = NULL;
  OrtStatus* st = NULL;
  if (o->intra_op_threads > 0 && (st = api->SetIntraOpNumThreads(so, o->intra_op_threads))) {
    err = fail(st, "intra-op threads");
    goto done;
  }
  if (o->inter_op_threads > 0 && (st = api->SetInterOpNumThreads(so, o->inter_op_threads))) {
    err = fail(st, "inter-op threads");
    goto done;
  }
  if ((st = api->SetSessionGraphOptimizationLevel(so, (GraphOptimizationLevel)o->opt_level))) {
    err = fail(st, "graph optimization level");
    goto done;
  }
  for (size_t i = 0; i < o->n_config; i++) {
    if ((st = api->AddSessionConfigEntry(so, o->config_keys[i], o->config_values[i]))) {
      err = fail(st, o->config_keys[i]);
      goto done;
    }
  }
  if (o->cuda) {
    OrtCUDAProviderOptionsV2* co = NULL;
    if ((st = api->CreateCUDAProviderOptions(&co))) {
      *kind = 1;
      err = fail(st, "cuda provider options");
      goto done;
    }
    char id[16];
    snprintf(id, sizeof id, "%d", o->device_id);
    const char* k[] = {"device_id"};
    const char* v[] = {id};
    if ((st = api->UpdateCUDAProviderOptions(co, k, v, 1))) {
      *kind = 1;
      err = fail(st, "cuda device_id");
    } else if (o->n_provider > 0 &&
               (st = api->UpdateCUDAProviderOptions(co, o->provider_keys, o->provider_values, o->n_provider))) {
      *kind = 2;
      err = fail(st, "cuda provider option");
    } else if ((st = api->SessionOptionsAppendExecutionProvider_CUDA_V2(so, co))) {
      *kind = 1;
      err = fail(st, "append cuda provider");
    }
    api->ReleaseCUDAProviderOptions(co);
  }
done:
  if (err) {
    api->ReleaseSessionOptions(so);
    return err;
  }
  *out = so;
  return NULL;
}

static char* open_decoder(pc_decoder* d, const char* model_path, const pc_options* o, int* kind) {
  OrtSessionOptions* so = NULL;
  char* err = session_options(o, &so, kind);
  if (err) return err;
  OrtStatus* st = api->CreateSession(env, model_path, so, &d->sess);
  api->ReleaseSessionOptions(so);
  if (st) {
    // The CUDA provider library is loaded when the session is created.
    if (o->cuda) *kind = 1;
    return fail(st, "create session");
  }
  TRY(api->CreateIoBinding(d->sess, &d->bind), "io binding");
  TRY(api->CreateRunOptions(&d->run_opts), "run options");
  TRY(api->GetAllocatorWithDefaultOptions(&d->cpu_alloc), "cpu allocator");
  TRY(api->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &d->cpu_mem), "cpu memory info");
  if (o->cuda) {
    TRY(api->CreateMemoryInfo("Cuda", OrtDeviceAllocator, o->device_id, OrtMemTypeDefault, &d->kv_mem),
        "cuda memory info");
    load_cudart();
    d->copy_rows = cuda_memcpy != NULL;
    d->logits_mem = d->copy_rows ? d->kv_mem : d->cpu_mem;
  } else {
    TRY(api->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &d->kv_mem), "cpu memory info");
    d->logits_mem = d->kv_mem;
  }
  return NULL;
}

char* pc_open(const char* model_path, const pc_layout* l, const pc_options* o, pc_decoder** out, int* kind) {
  *kind = 0;
  if (!api) return strdup("runtime not loaded: call pc_load first");
  pc_decoder* d = calloc(1, sizeof *d);
  if (!d) return strdup("out of memory");
  d->cuda = o->cuda;
  d->device_id = o->device_id;
  d->l = *l;
  d->l.input_ids = strdup_or_null(l->input_ids);
  d->l.attention_mask = strdup_or_null(l->attention_mask);
  d->l.position_ids = strdup_or_null(l->position_ids);
  d->l.use_cache_branch = strdup_or_null(l->use_cache_branch);
  d->l.logits = strdup_or_null(l->logits);
  d->l.past = calloc(2 * l->layers, sizeof(char*));
  d->l.present = calloc(2 * l->layers, sizeof(char*));
  d->kv = calloc(2 * l->layers, sizeof(OrtValue*));
  if (!d->l.past || !d->l.present || !d->kv) {
    pc_close(d);
    return strdup("out of memory");
  }
  for (int i = 0; i < 2 * l->layers; i++) {
    ((char**)d->l.past)[i] = strdup(l->past[i]);
    ((char**)d->l.present)[i] = strdup(l->present[i]);
  }
  char* err = open_decoder(d, model_path, o, kind);
  if (err) {
    pc_close(d);
    return err;
  }
  *out = d;
  return NULL;
}

const char* pc_logits_path(const pc_decoder* d) {
  if (!d->cuda) return "cpu";
  return d->copy_rows ? "device+cudaMemcpy" : "host-bound";
}

static char* bind_host(pc_decoder* d, const char* name, void* data, size_t bytes, const int64_t* shape,
                       size_t rank, ONNXTensorElementDataType type) {
  OrtValue* v = NULL;
  TRY(api->CreateTensorWithDataAsOrtValue(d->cpu_mem, data, bytes, shape, rank, type, &v), name);
  OrtStatus* st = api->BindInput(d->bind, name, v);
  api->ReleaseValue(v);  // the binding holds its own reference
  if (st) return fail(st, name);
  return NULL;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ONNXTensorElementDataType elem_type(int type) {
  return type ? (ONNXTensorElementDataType)type : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static char* copy_last_rows(pc_decoder* d, OrtValue* logits, int64_t batch, int64_t seq, const int64_t* rows,
                            void* dst) {
  OrtTensorTypeAndShapeInfo* info = NULL;
  TRY(api->GetTensorTypeAndShape(logits, &info), "logits shape");
  size_t count = 0;
  OrtStatus* st = api->GetTensorShapeElementCount(info, &count);
  api->ReleaseTensorTypeAndShapeInfo(info);
  if (st) return fail(st, "logits shape");
  int64_t V = d->l.vocab, lseq = seq;
  if ((int64_t)count == batch * V) {
    lseq = 1;  // the LM head ran on one position per row
  } else if (d->l.logits_last_only || (int64_t)count != batch * seq * V) {
    // A layout of one position per row has a batch x vocab buffer: more
    // would not fit.
    char want[80], got[32];
    snprintf(want, sizeof want, d->l.logits_last_only ? "%lld logits for batch x vocab" : "%lld logits for batch x seq x vocab",
             (long long)(d->l.logits_last_only ? batch * V : batch * seq * V));
    snprintf(got, sizeof got, "%zu", count);
    return joinf(want, got);
  }
  size_t es = d->l.logits_size;
  void* src = NULL;
  TRY(api->GetTensorMutableData(logits, &src), "logits data");
  if (d->copy_rows) {
    int e = cuda_set_device(d->device_id);
    if (e) return joinf("cudaSetDevice", cuda_error_string(e));
  }
  for (int64_t r = 0; r < batch; r++) {
    int64_t j = lseq == 1 ? 0 : (rows ? rows[r] : seq - 1);
    if (j < 0 || j >= lseq) return strdup("logits row position out of range");
    size_t off = (size_t)((r * lseq + j) * V) * es;
    if (d->copy_rows) {
      int e = cuda_memcpy((char*)dst + off, (const char*)src + off, (size_t)V * es, cuda_memcpy_device_to_host);
      if (e) return joinf("cudaMemcpy logits", cuda_error_string(e));
    } else {
      memcpy((char*)dst + off, (const char*)src + off, (size_t)V * es);
    }
  }
  return NULL;
}

static char* bind_and_run(pc_decoder* d, int64_t batch, int64_t seq, int64_t past, const int64_t* ids,
                          const int64_t* mask, const int64_t* pos, int64_t* run_ns) {
  const ONNXTensorElementDataType i64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  int64_t bs[2] = {batch, seq}, bt[2] = {batch, past + seq}, one[1] = {1};
  size_t n = (size_t)(batch * seq), nt = (size_t)(batch * (past + seq));
  char* err;
  if ((err = bind_host(d, d->l.input_ids, (void*)ids, n * 8, bs, 2, i64))) return err;
  if ((err = bind_host(d, d->l.attention_mask, (void*)mask, nt * 8, bt, 2, i64))) return err;
  if (d->l.position_ids && (err = bind_host(d, d->l.position_ids, (void*)pos, n * 8, bs, 2, i64))) return err;
  if (d->l.use_cache_branch) {
    d->use_cache = past > 0;
    if ((err = bind_host(d, d->l.use_cache_branch, &d->use_cache, 1, one, 1, ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL)))
      return err;
  }
  int64_t empty[4] = {batch, d->l.kv_heads, 0, d->l.head_dim};
  for (int i = 0; i < 2 * d->l.layers; i++) {
    if (past == 0) {
      err = bind_host(d, d->l.past[i], &d->empty, 0, empty, 4, elem_type(d->l.kv_type));
      if (err) return err;
    } else {
      TRY(api->BindInput(d->bind, d->l.past[i], d->kv[i]), d->l.past[i]);
    }
  }
  TRY(api->BindOutputToDevice(d->bind, d->l.logits, d->logits_mem), d->l.logits);
  for (int i = 0; i < 2 * d->l.layers; i++) {
    TRY(api->BindOutputToDevice(d->bind, d->l.present[i], d->kv_mem), d->l.present[i]);
  }
  int64_t t0 = now_ns();
  OrtStatus* st = api->RunWithBinding(d->sess, d->run_opts, d->bind);
  if (!st) st = api->SynchronizeBoundOutputs(d->bind);
  *run_ns = now_ns() - t0;
  if (st) return fail(st, "run");
  return NULL;
}

char* pc_step(pc_decoder* d, int64_t batch, int64_t seq, int64_t past, const int64_t* ids, const int64_t* mask,
              const int64_t* pos, const int64_t* rows, void* logits, int64_t* run_ns) {
  *run_ns = 0;
  if (past == 0) drop_cache(d);
  for (int i = 0; past > 0 && i < 2 * d->l.layers; i++) {
    if (!d->kv[i]) return strdup("no cached past: the first step of a request must have past 0");
  }
  api->ClearBoundInputs(d->bind);
  api->ClearBoundOutputs(d->bind);
  char* err = bind_and_run(d, batch, seq, past, ids, mask, pos, run_ns);
  OrtValue** vals = NULL;
  size_t nvals = 0;
  if (!err) {
    OrtStatus* st = api->GetBoundOutputValues(d->bind, d->cpu_alloc, &vals, &nvals);
    if (st) err = fail(st, "bound outputs");
  }
  // The binding's references to inputs (Go memory, the old cache) and
  // outputs end here; the values fetched above keep the outputs alive.
  api->ClearBoundInputs(d->bind);
  api->ClearBoundOutputs(d->bind);
  if (!err && nvals != (size_t)(1 + 2 * d->l.layers)) err = strdup("bound outputs: unexpected count");
  if (!err) err = copy_last_rows(d, vals[0], batch, seq, rows, logits);
  drop_cache(d);
  for (size_t i = 0; i < nvals; i++) {
    if (i == 0 || err) {
      api->ReleaseValue(vals[i]);
    } else {
      d->kv[i - 1] = vals[i];
    }
  }
  if (vals) {
    OrtStatus* st = api->AllocatorFree(d->cpu_alloc, vals);
    if (st) api->ReleaseStatus(st);
  }
  return err;
}
