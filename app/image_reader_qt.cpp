#include "image_reader_qt.h"

#include <QImage>
#include <QImageReader>

#include "measure/image_density.h"
#include "util/error.h"

namespace tl {

void installQtImageReaders() {
    auto reader = [](const std::string& path) {
        QImageReader r(QString::fromStdString(path));
        QImage img = r.read();
        if (img.isNull()) throw Error("cannot read image '" + path + "': " + r.errorString().toStdString());
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
