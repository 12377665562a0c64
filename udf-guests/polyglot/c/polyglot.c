// The polyglot library (../wit/library.wit) in C: wit-bindgen's C bindings, clang for wasm32-wasi
// with wasi-libc, made a component by wasm-tools with WASI preview 1 adapted to preview 2.
// Arguments belong to the callee (free them); results are freed by the bindings after the call.

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "library.h"

extern char **environ;

static void set_string(library_string_t *out, const char *text) {
    out->len = strlen(text);
    out->ptr = malloc(out->len ? out->len : 1);
    memcpy(out->ptr, text, out->len);
}

int32_t exports_library_add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

bool exports_library_rolling_mean(library_list_f64_t *values, int32_t window, library_list_f64_t *ret,
                                  library_string_t *err) {
    if (window < 1) {
        char message[64];
        snprintf(message, sizeof message, "window must be at least 1, not %d", window);
        set_string(err, message);
        library_list_f64_free(values);
        return false;
    }
    size_t n = values->len, w = (size_t)window;
    ret->len = n;
    ret->ptr = malloc((n ? n : 1) * sizeof(double));
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += values->ptr[i];
        if (i >= w) {
            sum -= values->ptr[i - w];
        }
        ret->ptr[i] = sum / (double)(i + 1 < w ? i + 1 : w);
    }
    library_list_f64_free(values);
    return true;
}

bool exports_library_safe_divide(double a, double b, double *ret, library_string_t *err) {
    if (b == 0.0) {
        char message[64];
        snprintf(message, sizeof message, "cannot divide %g by zero", a);
        set_string(err, message);
        return false;
    }
    *ret = a / b;
    return true;
}

void exports_library_reverse_bytes(library_list_u8_t *data, library_list_u8_t *ret) {
    for (size_t i = 0, j = data->len; i + 1 < j; i++, j--) {
        uint8_t t = data->ptr[i];
        data->ptr[i] = data->ptr[j - 1];
        data->ptr[j - 1] = t;
    }
    *ret = *data;  // ownership passes to the result
}

int32_t exports_library_trap_if(bool really) {
    if (really) {
        __builtin_trap();
    }
    return 1;
}

int64_t exports_library_spin(int64_t seed) {
    volatile uint64_t x = (uint64_t)seed;
    for (;;) {
        x = x * 6364136223846793005ULL + 1;
    }
}

// Where hoard's blocks escape to, so that the compiler cannot drop allocations nothing reads.
static char *volatile hoarded;

int64_t exports_library_hoard(int32_t mebibytes) {
    int64_t held = 0;
    for (int32_t i = 0; i < mebibytes; i++) {
        char *block = malloc(1 << 20);
        if (!block) {
            break;
        }
        memset(block, 1, 1 << 20);
        hoarded = block;  // kept on purpose: the test wants the memory held
        held += 1 << 20;
    }
    return held;
}

void exports_library_summarize(library_list_f64_t *values, library_summary_t *ret) {
    size_t n = values->len;
    ret->count = (int64_t)n;
    ret->mean.is_some = ret->minimum.is_some = ret->maximum.is_some = n > 0;
    if (n > 0) {
        double sum = 0.0, lo = values->ptr[0], hi = values->ptr[0];
        for (size_t i = 0; i < n; i++) {
            double v = values->ptr[i];
            sum += v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        ret->mean.val = sum / (double)n;
        ret->minimum.val = lo;
        ret->maximum.val = hi;
    }
    library_list_f64_free(values);
}

void exports_library_scale_reading(library_reading_t *r, double factor, library_reading_t *ret) {
    static const char suffix[] = " (scaled)";
    ret->sensor = r->sensor;  // ownership passes to the result
    ret->value = r->value * factor;
    ret->note.is_some = r->note.is_some;
    if (r->note.is_some) {
        size_t len = r->note.val.len, extra = sizeof suffix - 1;
        ret->note.val.ptr = malloc(len + extra);
        memcpy(ret->note.val.ptr, r->note.val.ptr, len);
        memcpy(ret->note.val.ptr + len, suffix, extra);
        ret->note.val.len = len + extra;
        library_string_free(&r->note.val);
    }
}

// Calls `found(start, length, index, context)` for each run of bytes between spaces; returns the count.
static size_t each_word(const library_string_t *s, void (*found)(const uint8_t *, size_t, size_t, void *),
                        void *context) {
    size_t count = 0, i = 0, n = s->len;
    while (i < n) {
        while (i < n && s->ptr[i] == ' ') i++;
        size_t start = i;
        while (i < n && s->ptr[i] != ' ') i++;
        if (i > start) {
            if (found) found(s->ptr + start, i - start, count, context);
            count++;
        }
    }
    return count;
}

static void copy_word(const uint8_t *start, size_t len, size_t index, void *context) {
    library_string_t *word = &((library_string_t *)context)[index];
    word->ptr = malloc(len);
    memcpy(word->ptr, start, len);
    word->len = len;
}

void exports_library_words(library_string_t *s, library_list_string_t *ret) {
    ret->len = each_word(s, NULL, NULL);
    ret->ptr = malloc((ret->len ? ret->len : 1) * sizeof(library_string_t));
    each_word(s, copy_word, ret->ptr);
    library_string_free(s);
}

static void place_word(const uint8_t *start, size_t len, size_t index, void *context) {
    library_word_position_t *entry = &((library_word_position_t *)context)[index];
    entry->ordinal = (int32_t)index + 1;
    copy_word(start, len, 0, &entry->word);
    int32_t characters = 0;
    for (size_t i = 0; i < len; i++) {
        characters += (start[i] & 0xC0) != 0x80;  // count every byte that starts a UTF-8 sequence
    }
    entry->characters = characters;
}

void exports_library_word_positions(library_string_t *s, library_list_word_position_t *ret) {
    ret->len = each_word(s, NULL, NULL);
    ret->ptr = malloc((ret->len ? ret->len : 1) * sizeof(library_word_position_t));
    each_word(s, place_word, ret->ptr);
    library_string_free(s);
}

void exports_library_probe_sandbox(library_string_t *ret) {
    char found[256];
    FILE *passwd = fopen("/etc/passwd", "r");
    const char *file = passwd ? "read" : "refused";
    int file_errno = passwd ? 0 : errno;
    if (passwd) {
        fclose(passwd);
    }
    int variables = 0;
    for (char **variable = environ; variable && *variable; variable++) {
        variables++;
    }
    // wasi-libc has no socket() or connect(): WASI preview 1 gives a guest no way to open a socket.
    snprintf(found, sizeof found, "file: %s (%s); env: %d variables; net: refused (no socket API in WASI)", file,
             strerror(file_errno), variables);
    printf("probe-sandbox ran\n");
    fflush(stdout);
    set_string(ret, found);
}

void exports_plwasm_polyglot_text_upper(library_string_t *s, library_string_t *ret) {
    // ASCII letters only: C's toupper knows no Unicode (the test data's other letters compare equal
    // only in languages with full case mapping).
    for (size_t i = 0; i < s->len; i++) {
        if (s->ptr[i] >= 'a' && s->ptr[i] <= 'z') {
            s->ptr[i] -= 'a' - 'A';
        }
    }
    *ret = *s;
}

bool exports_plwasm_polyglot_text_byte_length(library_string_t *maybe_s, int32_t *ret) {
    if (!maybe_s) {
        return false;
    }
    *ret = (int32_t)maybe_s->len;
    library_string_free(maybe_s);
    return true;
}

// stats.moments: one group's count, mean and sum of squared deviations.
typedef exports_plwasm_polyglot_stats_moments_t moments_t;
typedef exports_plwasm_polyglot_stats_own_moments_t own_moments_t;

struct exports_plwasm_polyglot_stats_moments_t {
    uint64_t n;
    double mean, m2;
};

static own_moments_t new_moments(uint64_t n, double mean, double m2) {
    moments_t *state = malloc(sizeof *state);
    state->n = n;
    state->mean = mean;
    state->m2 = m2;
    return exports_plwasm_polyglot_stats_moments_new(state);
}

own_moments_t exports_plwasm_polyglot_stats_constructor_moments(void) {
    return new_moments(0, 0.0, 0.0);
}

void exports_plwasm_polyglot_stats_moments_destructor(moments_t *state) {
    free(state);
}

// Merge in the moments of n_b other values (Chan's formula).
static void take_in(moments_t *self, uint64_t n_b, double mean_b, double m2_b) {
    if (n_b == 0) {
        return;
    }
    uint64_t n = self->n + n_b;
    double delta = mean_b - self->mean;
    double mean = self->mean + delta * (double)n_b / (double)n;
    self->m2 = self->m2 + m2_b + delta * delta * (double)self->n * (double)n_b / (double)n;
    self->mean = mean;
    self->n = n;
}

void exports_plwasm_polyglot_stats_method_moments_push(moments_t *self, library_list_f64_t *values) {
    size_t n = values->len;
    if (n > 0) {
        double sum = 0.0, m2 = 0.0;
        for (size_t i = 0; i < n; i++) sum += values->ptr[i];
        double mean = sum / (double)n;
        for (size_t i = 0; i < n; i++) m2 += (values->ptr[i] - mean) * (values->ptr[i] - mean);
        take_in(self, n, mean, m2);
    }
    library_list_f64_free(values);
}

bool exports_plwasm_polyglot_stats_method_moments_retract(moments_t *self, library_list_f64_t *values) {
    bool removed = true;
    for (size_t i = 0; i < values->len && removed; i++) {
        double x = values->ptr[i];
        if (self->n == 0) {
            removed = false;
        } else if (--self->n == 0) {
            self->mean = self->m2 = 0.0;
        } else {
            double delta = x - self->mean;
            self->mean -= delta / (double)self->n;
            self->m2 -= delta * (x - self->mean);
        }
    }
    library_list_f64_free(values);
    return removed;
}

void exports_plwasm_polyglot_stats_method_moments_merge(moments_t *self, moments_t *other) {
    take_in(self, other->n, other->mean, other->m2);
}

void exports_plwasm_polyglot_stats_method_moments_serialize(moments_t *self, library_list_u8_t *ret) {
    ret->len = 24;
    ret->ptr = malloc(24);
    memcpy(ret->ptr, &self->n, 8);  // wasm32 is little-endian
    memcpy(ret->ptr + 8, &self->mean, 8);
    memcpy(ret->ptr + 16, &self->m2, 8);
}

own_moments_t exports_plwasm_polyglot_stats_static_moments_deserialize(library_list_u8_t *bytes) {
    if (bytes->len != 24) {
        __builtin_trap();
    }
    uint64_t n;
    double mean, m2;
    memcpy(&n, bytes->ptr, 8);
    memcpy(&mean, bytes->ptr + 8, 8);
    memcpy(&m2, bytes->ptr + 16, 8);
    library_list_u8_free(bytes);
    return new_moments(n, mean, m2);
}

bool exports_plwasm_polyglot_stats_method_moments_mean(moments_t *self, double *ret) {
    *ret = self->mean;
    return self->n > 0;
}

bool exports_plwasm_polyglot_stats_method_moments_stddev(moments_t *self, double *ret) {
    if (self->n < 2) {
        return false;
    }
    *ret = sqrt(self->m2 / (double)(self->n - 1));
    return true;
}
