// Registers Qt's image readers (PNG, JPEG, BMP ...) with core's image-density loader.
#pragma once

namespace tl {
void installQtImageReaders();
}
