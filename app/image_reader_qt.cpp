#include "image_reader_qt.h"

#include <fcntl.h>
#include <unistd.h>

#include <QImage>
#include <QImageReader>

#include <cstdio>
#include <string>
#include <optional>

#include "measure/image_density.h"
#include "util/error.h"
#include "util/files.h"
#include "util/quote.h"

namespace tl {

namespace {

// Points fd 2 at /dev/null for its lifetime (restored on destruction).
class SilencedStderr {
public:
    SilencedStderr() {
        std::fflush(stderr);
        saved_ = ::dup(2);
        const int null = ::open("/dev/null", O_WRONLY);
        if (saved_ >= 0 && null >= 0) ::dup2(null, 2);
        if (null >= 0) ::close(null);
    }
    ~SilencedStderr() {
        std::fflush(stderr);
        if (saved_ >= 0) {
            ::dup2(saved_, 2);
            ::close(saved_);
        }
    }

private:
    int saved_ = -1;
};

}  // namespace

void installQtImageReaders(bool quiet) {
    auto reader = [quiet](const std::string& path) {
        // A FIFO, a device or a folder is refused before Qt opens it (a FIFO would block), and so
        // is a file over the byte cap; the size in the header is checked before decoding.
        checkRegularFile(path, kMaxImageBytes);
        QImageReader r(QString::fromStdString(path));
        QSize declared;
        {
            std::optional<SilencedStderr> silence;
            if (quiet) silence.emplace();
            declared = r.size();
        }
        if (declared.isValid() && static_cast<long long>(declared.width()) * declared.height() > kMaxImagePixels)
            throw Error("cannot read image " + quotedPath(path) + ": " + std::to_string(declared.width()) + "x" + std::to_string(declared.height()) +
                        " pixels is more than the limit of " + std::to_string(kMaxImagePixels / 1'000'000) + " megapixels");
        QImage img;
        {
            std::optional<SilencedStderr> silence;
            if (quiet) silence.emplace();
            img = r.read();
        }
        if (img.isNull()) throw Error("cannot read image " + quotedPath(path) + ": " + oneLine(r.errorString().toStdString(), 200));
        if (static_cast<long long>(img.width()) * img.height() > kMaxImagePixels)
            throw Error("cannot read image " + quotedPath(path) + ": more than the limit of " + std::to_string(kMaxImagePixels / 1'000'000) + " megapixels");
        img = img.convertToFormat(QImage::Format_Grayscale8);
        GrayImage g;
        g.width = img.width();
        g.height = img.height();
        g.pixels.resize(static_cast<std::size_t>(g.width) * g.height);
        for (int y = 0; y < g.height; ++y) {
            const uchar* row = img.constScanLine(y);
            for (int x = 0; x < g.width; ++x) g.pixels[static_cast<std::size_t>(y) * g.width + x] = row[x] / 255.0;
        }
        return g;
    };
    for (const char* ext : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm"}) registerImageReader(ext, reader);
}

}  // namespace tl
