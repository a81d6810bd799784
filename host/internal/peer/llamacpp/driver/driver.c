// driver: the least C that times llama.cpp the way `pipe bench` times pipe.
//
// Usage: driver MODEL.gguf THREADS N_CTX BACKEND_DIR
//
// It loads the GGUF once (CPU only, mmap) and answers commands on stdin, one
// line each, with one JSON line on stdout:
//
//   gen N P id1 … idP   prefill the P ids, then N tokens greedily one at a
//                       time: {"ttft_ms":…,"decode_tps":…,"e2e_ms":…,"tokens":[…]}
//   logits P id1 … idP  the last position's logits after a prefill: {"logits":[…]}
//
// Definitions are pipe's (host/internal/roofline/bareloop.go, measure):
// TTFT is from before the prefill's llama_decode to after the first token's
// argmax; decode tok/s is (N−1) / (E2E − TTFT), E2E ending at the last
// token's argmax. The KV cache is cleared before each command, outside the
// timing. Greedy is the first maximal logit, as pipe's argmax.
//
// Threads are llama-bench's: one persistent ggml threadpool of THREADS
// with its default parameters (poll 50: workers busy-wait a while for the
// next graph before sleeping), attached to the context. After each command,
// outside the timing, the pool is paused (its workers sleep at once; the
// next llama_decode resumes it): left polling, its workers would spin for
// ≈ 6.5 M rounds (1024·128·poll) after the last token, about 0.1–0.2 s here,
// on the cores of whichever engine pipe bench times next.
#define _GNU_SOURCE // dladdr
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama.h"

static char last_error[1024];

static void on_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN) {
        fputs(text, stderr);
        if (level == GGML_LOG_LEVEL_ERROR && !last_error[0]) { // the first error names the cause
            snprintf(last_error, sizeof last_error, "%s", text);
            size_t n = strlen(last_error);
            while (n > 0 && (last_error[n - 1] == '\n' || last_error[n - 1] == '\r')) last_error[--n] = 0;
        }
    }
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// json_string prints s as a JSON string.
static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void fail(const char *what) {
    printf("{\"error\":");
    char buf[1400];
    snprintf(buf, sizeof buf, "%s%s%s", what, last_error[0] ? ": " : "", last_error);
    json_string(buf);
    printf("}\n");
    fflush(stdout);
}

static llama_token argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

// read_ids reads P then P token ids from stdin into a buffer of at least P.
static llama_token *read_ids(int *p) {
    if (scanf("%d", p) != 1 || *p < 1) return NULL;
    llama_token *ids = malloc(sizeof(llama_token) * (size_t)*p);
    for (int i = 0; i < *p; i++)
        if (scanf("%d", &ids[i]) != 1) { free(ids); return NULL; }
    return ids;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.gguf THREADS N_CTX BACKEND_DIR\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int threads = atoi(argv[2]), n_ctx = atoi(argv[3]);
    llama_log_set(on_log, NULL);
    ggml_backend_load_all_from_path(argv[4]);
    llama_backend_init();

    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(path, mp);
    if (!model) { fail("llama.cpp could not load the model"); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fail("llama.cpp could not create a context"); return 1; }
    // As llama-bench: the CPU backend's threadpool, found through its registry
    // (the backend is a library ggml_backend_load_all_from_path chose).
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!cpu) { fail("llama.cpp has no CPU backend loaded"); return 1; }
    ggml_backend_reg_t cpu_reg = ggml_backend_dev_backend_reg(cpu);
    typedef struct ggml_threadpool *(*threadpool_new_fn)(struct ggml_threadpool_params *);
    threadpool_new_fn threadpool_new = (threadpool_new_fn)ggml_backend_reg_get_proc_address(cpu_reg, "ggml_threadpool_new");
    if (!threadpool_new) { fail("the CPU backend has no ggml_threadpool_new"); return 1; }
    // ggml_threadpool_pause is exported by the backend's library but not
    // offered by its registry: found in the library that holds threadpool_new.
    typedef void (*threadpool_pause_fn)(struct ggml_threadpool *);
    threadpool_pause_fn threadpool_pause = NULL;
    Dl_info where;
    if (dladdr((void *)threadpool_new, &where) && where.dli_fname) {
        void *lib = dlopen(where.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        if (lib) threadpool_pause = (threadpool_pause_fn)dlsym(lib, "ggml_threadpool_pause");
    }
    if (!threadpool_pause) { fail("the CPU backend's library has no ggml_threadpool_pause"); return 1; }
    struct ggml_threadpool_params tpp = ggml_threadpool_params_default(threads);
    struct ggml_threadpool *pool = threadpool_new(&tpp);
    if (!pool) { fail("ggml_threadpool_new failed"); return 1; }
    llama_attach_threadpool(ctx, pool, NULL);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);

    printf("{\"ready\":true,\"n_vocab\":%d,\"n_ctx\":%u,\"threads\":%d,\"n_batch\":%u,\"n_ubatch\":%u,\"kv_type\":",
           n_vocab, llama_n_ctx(ctx), threads, llama_n_batch(ctx), llama_n_ubatch(ctx));
    json_string(ggml_type_name(cp.type_k));
    printf(",\"flash_attn\":");
    json_string(llama_flash_attn_type_name(cp.flash_attn_type));
    printf(",\"threadpool_poll\":%d,\"cpu_backend\":", (int)tpp.poll);
    json_string(ggml_backend_dev_description(cpu));
    printf(",\"system_info\":");
    json_string(llama_print_system_info());
    printf("}\n");
    fflush(stdout);

    char cmd[16];
    while (scanf("%15s", cmd) == 1) {
        int n = 0, p = 0;
        int gen = strcmp(cmd, "gen") == 0;
        if (gen && scanf("%d", &n) != 1) { fail("gen: want N P ids"); return 1; }
        if (!gen && strcmp(cmd, "logits") != 0) { fail("unknown command"); return 1; }
        llama_token *ids = read_ids(&p);
        if (!ids) { fail("want P and P token ids"); return 1; }
        last_error[0] = 0;
        llama_memory_clear(llama_get_memory(ctx), true);
        if (!gen) {
            if (llama_decode(ctx, llama_batch_get_one(ids, p)) != 0) { fail("llama_decode failed"); return 1; }
            const float *lg = llama_get_logits_ith(ctx, -1);
            printf("{\"logits\":[");
            for (int i = 0; i < n_vocab; i++) printf(i ? ",%.9g" : "%.9g", lg[i]);
            printf("]}\n");
            fflush(stdout);
            threadpool_pause(pool);
            free(ids);
            continue;
        }
        llama_token *out = malloc(sizeof(llama_token) * (size_t)(n > 0 ? n : 1));
        double start = now_ms(), ttft = 0;
        struct llama_batch batch = llama_batch_get_one(ids, p);
        for (int step = 0; step < n; step++) {
            if (llama_decode(ctx, batch) != 0) { fail("llama_decode failed"); return 1; }
            out[step] = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
            if (step == 0) ttft = now_ms() - start;
            batch = llama_batch_get_one(&out[step], 1);
        }
        double e2e = now_ms() - start;
        threadpool_pause(pool);
        double tps = (n > 1 && e2e > ttft) ? (n - 1) / ((e2e - ttft) / 1e3) : 0;
        printf("{\"ttft_ms\":%.6f,\"decode_tps\":%.6f,\"e2e_ms\":%.6f,\"tokens\":[", ttft, tps, e2e);
        for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", out[i]);
        printf("]}\n");
        fflush(stdout);
        free(out);
        free(ids);
    }
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
