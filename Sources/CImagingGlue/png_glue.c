#include "CImagingGlue.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// State shared with libpng's callbacks: the input (or output) buffer and where to put an error message.
typedef struct {
    const uint8_t *data;
    size_t size, position;
    int truncated;
    uint8_t *out;           // encoder output, grown by doubling
    size_t out_size, out_capacity;
    char *message;
    size_t message_size;
} png_state;

static void set_message(png_state *state, const char *text) {
    if (state->message && state->message_size > 0) snprintf(state->message, state->message_size, "%s", text);
}

static void on_error(png_structp png, png_const_charp text) {
    png_state *state = png_get_error_ptr(png);
    // A read past the end already recorded its own message; keep it.
    if (!state->truncated) set_message(state, text);
    png_longjmp(png, 1);
}

// Warnings (unknown profiles, benign CRC errors in ancillary chunks) do not stop decoding; stay quiet.
static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void read_bytes(png_structp png, png_bytep destination, size_t length) {
    png_state *state = png_get_io_ptr(png);
    if (length > state->size - state->position) {
        state->truncated = 1;
        set_message(state, "the file ends before the image data does");
        png_error(png, "truncated");
    }
    memcpy(destination, state->data + state->position, length);
    state->position += length;
}

static void write_bytes(png_structp png, png_bytep source, size_t length) {
    png_state *state = png_get_io_ptr(png);
    if (length > state->out_capacity - state->out_size) {
        size_t capacity = state->out_capacity ? state->out_capacity : 65536;
        while (capacity - state->out_size < length) capacity *= 2;
        uint8_t *grown = realloc(state->out, capacity);
        if (!grown) png_error(png, "out of memory while encoding");
        state->out = grown;
        state->out_capacity = capacity;
    }
    memcpy(state->out + state->out_size, source, length);
    state->out_size += length;
}

static void flush_nothing(png_structp png) { (void)png; }

static int check_signature(const uint8_t *data, size_t size, png_state *state) {
    if (size < 8) {
        set_message(state, "the file is shorter than a PNG signature");
        return SP_TRUNCATED;
    }
    if (png_sig_cmp(data, 0, 8) != 0) {
        set_message(state, "not a PNG signature");
        return SP_ERROR;
    }
    return SP_OK;
}

int sp_png_read(const uint8_t *data, size_t size, sp_png_info *info, uint8_t *out, size_t out_size,
                char *message, size_t message_size) {
    png_state state = {.data = data, .size = size, .message = message, .message_size = message_size};
    int status = check_signature(data, size, &state);
    if (status != SP_OK) return status;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
    if (!png) { set_message(&state, "libpng could not start"); return SP_ERROR; }
    png_infop png_info = png_create_info_struct(png);
    if (!png_info) { png_destroy_read_struct(&png, NULL, NULL); set_message(&state, "libpng could not start"); return SP_ERROR; }
    // Allocated after setjmp; volatile so the error path sees the value it had at the longjmp.
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        png_destroy_read_struct(&png, &png_info, NULL);
        return state.truncated ? SP_TRUNCATED : SP_ERROR;
    }
    png_set_read_fn(png, &state, read_bytes);
    png_read_info(png, png_info);

    memset(info, 0, sizeof *info);
    info->width = png_get_image_width(png, png_info);
    info->height = png_get_image_height(png, png_info);
    info->color_type = png_get_color_type(png, png_info);
    info->bit_depth = png_get_bit_depth(png, png_info);
    if (info->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp colours = NULL;
        int count = 0;
        if (png_get_PLTE(png, png_info, &colours, &count) & PNG_INFO_PLTE) {
            if (count > 256) count = 256;
            info->palette_count = count;
            for (int i = 0; i < count; i++) {
                info->palette[3 * i] = colours[i].red;
                info->palette[3 * i + 1] = colours[i].green;
                info->palette[3 * i + 2] = colours[i].blue;
            }
        }
    }

    if (out) {
        if (info->bit_depth < 8) png_set_packing(png);  // one byte per sample, values unscaled
        if (info->bit_depth == 16) {
            const uint16_t probe = 1;
            if (*(const uint8_t *)&probe == 1) png_set_swap(png);  // PNG is big-endian
        }
        png_set_interlace_handling(png);
        png_read_update_info(png, png_info);

        size_t height = info->height;
        size_t row_bytes = png_get_rowbytes(png, png_info);
        if (height == 0 || row_bytes > out_size / height || row_bytes * height != out_size) {
            set_message(&state, "decoded size differs from the size announced by the header");
            png_error(png, "size mismatch");
        }
        rows = malloc(height * sizeof(png_bytep));
        if (!rows) png_error(png, "out of memory for row pointers");
        for (size_t y = 0; y < height; y++) rows[y] = out + y * row_bytes;
        png_read_image(png, rows);
        png_read_end(png, NULL);
        free(rows);
    }
    png_destroy_read_struct(&png, &png_info, NULL);
    return SP_OK;
}

int sp_png_write(uint32_t width, uint32_t height, int color_type, const uint8_t *pixels,
                 const uint8_t *palette, int palette_count,
                 uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    png_state state = {.message = message, .message_size = message_size};
    *out = NULL;
    *out_size = 0;
    int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : 1;

    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
    if (!png) { set_message(&state, "libpng could not start"); return SP_ERROR; }
    png_infop png_info = png_create_info_struct(png);
    if (!png_info) { png_destroy_write_struct(&png, NULL); set_message(&state, "libpng could not start"); return SP_ERROR; }
    if (setjmp(png_jmpbuf(png))) {
        free(state.out);
        png_destroy_write_struct(&png, &png_info);
        return SP_ERROR;
    }
    png_set_write_fn(png, &state, write_bytes, flush_nothing);
    png_set_IHDR(png, png_info, width, height, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color colours[256];
        if (palette_count < 1 || palette_count > 256) png_error(png, "a PLTE needs 1 to 256 colours");
        for (int i = 0; i < palette_count; i++) {
            colours[i].red = palette[3 * i];
            colours[i].green = palette[3 * i + 1];
            colours[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, png_info, colours, palette_count);
    }
    png_write_info(png, png_info);
    size_t row_bytes = (size_t)width * (size_t)channels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * row_bytes);
    png_write_end(png, png_info);
    png_destroy_write_struct(&png, &png_info);

    *out = state.out;
    *out_size = state.out_size;
    return SP_OK;
}

void sp_free(void *pointer) { free(pointer); }
