// Registers Qt's image readers (PNG, JPEG, BMP ...) with core's image-density loader.
#pragma once

namespace tl {
// quiet: silence what the image libraries print on stderr while decoding (libpng reports errors
// there itself); the reader's own error is still thrown as tl::Error. For the CLI's one-line errors.
void installQtImageReaders(bool quiet = false);
}
