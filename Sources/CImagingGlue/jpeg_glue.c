#include "CImagingGlue.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
// jpeglib.h needs FILE and size_t declared before it.
#include <jpeglib.h>
#include <jerror.h>

// libjpeg's error manager, extended with the jump target and the caller's message buffer.
typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    int truncated;
    char *message;
    size_t message_size;
} jpeg_state;

static void record(j_common_ptr info) {
    jpeg_state *state = (jpeg_state *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    if (state->message && state->message_size > 0) snprintf(state->message, state->message_size, "%s", text);
}

static void on_error_exit(j_common_ptr info) {
    record(info);
    longjmp(((jpeg_state *)info->err)->jump, 1);
}

// libjpeg only *warns* about damaged data and then fills the rest of the picture with grey. A damaged
// photo must not silently become training data, so the data-corruption warnings stop decoding.
static void on_message(j_common_ptr info, int level) {
    if (level != -1) return;  // trace messages
    int code = info->err->msg_code;
    int fatal = code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
                code == JWRN_MUST_RESYNC || code == JWRN_ARITH_BAD_CODE || code == JWRN_BOGUS_PROGRESSION ||
                code == JWRN_NOT_SEQUENTIAL;
    if (!fatal) return;
    jpeg_state *state = (jpeg_state *)info->err;
    if (code == JWRN_JPEG_EOF) state->truncated = 1;
    record(info);
    longjmp(state->jump, 1);
}

static void install(jpeg_state *state, char *message, size_t message_size) {
    memset(state, 0, sizeof *state);
    jpeg_std_error(&state->manager);
    state->manager.error_exit = on_error_exit;
    state->manager.emit_message = on_message;
    state->message = message;
    state->message_size = message_size;
}

static int colour_space(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE: return SP_JPEG_GRAY;
    case JCS_RGB: return SP_JPEG_RGB;
    case JCS_YCbCr: return SP_JPEG_YCBCR;
    case JCS_CMYK: return SP_JPEG_CMYK;
    case JCS_YCCK: return SP_JPEG_YCCK;
    default: return SP_JPEG_OTHER;
    }
}

int sp_jpeg_read(const uint8_t *data, size_t size, sp_jpeg_info *info, int out_components, uint8_t *out,
                 size_t out_size, char *message, size_t message_size) {
    struct jpeg_decompress_struct decoder;
    jpeg_state state;
    install(&state, message, message_size);
    decoder.err = &state.manager;
    if (setjmp(state.jump)) {
        jpeg_destroy_decompress(&decoder);
        return state.truncated ? SP_TRUNCATED : SP_ERROR;
    }
    jpeg_create_decompress(&decoder);
    jpeg_mem_src(&decoder, data, (unsigned long)size);
    jpeg_read_header(&decoder, TRUE);
    info->width = decoder.image_width;
    info->height = decoder.image_height;
    info->components = decoder.num_components;
    info->color_space = colour_space(decoder.jpeg_color_space);

    if (out) {
        decoder.out_color_space = out_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
        jpeg_start_decompress(&decoder);
        size_t row_bytes = (size_t)decoder.output_width * (size_t)decoder.output_components;
        if (decoder.output_components != out_components || row_bytes * decoder.output_height != out_size) {
            snprintf(message, message_size, "decoded size differs from the size announced by the header");
            jpeg_destroy_decompress(&decoder);
            return SP_ERROR;
        }
        while (decoder.output_scanline < decoder.output_height) {
            JSAMPROW row = out + (size_t)decoder.output_scanline * row_bytes;
            jpeg_read_scanlines(&decoder, &row, 1);
        }
        jpeg_finish_decompress(&decoder);
    }
    jpeg_destroy_decompress(&decoder);
    return SP_OK;
}

int sp_jpeg_write(uint32_t width, uint32_t height, int components, const uint8_t *pixels, int quality,
                  uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    struct jpeg_compress_struct encoder;
    jpeg_state state;
    install(&state, message, message_size);
    encoder.err = &state.manager;
    unsigned char *buffer = NULL;
    unsigned long buffer_size = 0;
    *out = NULL;
    *out_size = 0;
    if (setjmp(state.jump)) {
        // The memory destination may have replaced `buffer` internally; only invalid parameters reach
        // here (the encoder cannot fail on data), so the rare leak is accepted over a double free.
        jpeg_destroy_compress(&encoder);
        return SP_ERROR;
    }
    jpeg_create_compress(&encoder);
    jpeg_mem_dest(&encoder, &buffer, &buffer_size);
    encoder.image_width = width;
    encoder.image_height = height;
    encoder.input_components = components;
    encoder.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&encoder);
    jpeg_set_quality(&encoder, quality, TRUE);
    jpeg_start_compress(&encoder, TRUE);
    size_t row_bytes = (size_t)width * (size_t)components;
    while (encoder.next_scanline < encoder.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)encoder.next_scanline * row_bytes);
        jpeg_write_scanlines(&encoder, &row, 1);
    }
    jpeg_finish_compress(&encoder);
    jpeg_destroy_compress(&encoder);
    *out = buffer;
    *out_size = buffer_size;
    return SP_OK;
}
