// libpng and libjpeg report errors by longjmp, which Swift cannot catch (and a longjmp across Swift
// frames is undefined behaviour). These functions keep every libpng/libjpeg call inside one C frame
// that owns the setjmp, and turn any failure into a status code plus a message.
#ifndef CIMAGINGGLUE_H
#define CIMAGINGGLUE_H

#include <stddef.h>
#include <stdint.h>

enum {
    SP_OK = 0,
    SP_ERROR = 1,      // corrupt data or a library failure; the message says what
    SP_TRUNCATED = 2,  // the data ended before the image did
};

// ---- PNG ----

typedef struct {
    uint32_t width, height;
    int color_type;       // PNG colour type: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
    int bit_depth;        // 1, 2, 4, 8 or 16 as stored in the file
    int palette_count;    // PLTE entries (palette images)
    uint8_t palette[256 * 3];
} sp_png_info;

// Reads the signature and the chunks up to the first IDAT into *info; with out == NULL it stops there and
// allocates nothing proportional to the image. Otherwise it then decodes the pixels into `out`: one byte
// per sample for bit depths <= 8 (sub-byte samples unpacked, values unscaled), two bytes per sample in host
// byte order for 16-bit files; interlacing undone. out_size must be
// width * height * channels * (bit_depth == 16 ? 2 : 1).
int sp_png_read(const uint8_t *data, size_t size, sp_png_info *info, uint8_t *out, size_t out_size,
                char *message, size_t message_size);

// Encodes 8-bit pixels (color_type 0, 2 or 3; for 3 a PLTE of palette_count RGB triples) into a
// malloc'd buffer returned through *out / *out_size; release it with sp_free.
int sp_png_write(uint32_t width, uint32_t height, int color_type, const uint8_t *pixels,
                 const uint8_t *palette, int palette_count,
                 uint8_t **out, size_t *out_size, char *message, size_t message_size);

// ---- JPEG ----

enum { SP_JPEG_GRAY = 1, SP_JPEG_RGB = 2, SP_JPEG_YCBCR = 3, SP_JPEG_CMYK = 4, SP_JPEG_YCCK = 5, SP_JPEG_OTHER = 0 };

typedef struct {
    uint32_t width, height;
    int components;       // components in the file
    int color_space;      // one of SP_JPEG_*
} sp_jpeg_info;

// Reads the header into *info; with out == NULL it stops there. Otherwise it decodes to `out_components`
// (1 = gray, 3 = RGB) bytes per pixel; out_size must be width * height * out_components.
// Corrupt-data warnings (premature end, bad Huffman code, ...) are treated as errors.
int sp_jpeg_read(const uint8_t *data, size_t size, sp_jpeg_info *info, int out_components, uint8_t *out,
                 size_t out_size, char *message, size_t message_size);

// Encodes components = 1 (gray), 3 (RGB) or 4 (CMYK) interleaved 8-bit pixels at quality 1...100.
int sp_jpeg_write(uint32_t width, uint32_t height, int components, const uint8_t *pixels, int quality,
                  uint8_t **out, size_t *out_size, char *message, size_t message_size);

void sp_free(void *pointer);

#endif
