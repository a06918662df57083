// transportlab-encodebench: what an export costs per frame. Encodes 60 frames of 1280x720 (about 2000
// moving anti-aliased dots each, drawn once up front) through AnimationWriter as MP4 (H.264), GIF and
// a PNG sequence, and prints one JSON line: frames per second for each. Needs no X server. Moved here
// from tst_animation_writer (a timing is a benchmark's, not a unit test's).
// Usage: transportlab-encodebench [--width W] [--height H] [--frames N]
#include <QCoreApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QImage>
#include <QPainter>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include <iostream>
#include <utility>
#include <vector>

#include "export/animation_writer.h"
#include "util/rng.h"

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.addOptions({{"width", "frame width", "W", "1280"}, {"height", "frame height", "H", "720"}, {"frames", "frames per file", "N", "60"}});
    p.process(app);
    const int w = p.value("width").toInt(), h = p.value("height").toInt(), n = p.value("frames").toInt();
    if (w < 16 || h < 16 || w > 8192 || h > 8192 || n < 1) {
        std::cerr << "error: --width and --height must be 16..8192, --frames >= 1\n";
        return 2;
    }
    std::vector<QImage> frames;
    tl::Rng rng(5);
    std::vector<QPointF> dots(2000);
    for (auto& d : dots) d = QPointF(rng.uniform(0, w), rng.uniform(0, h));
    for (int k = 0; k < 12; ++k) {
        QImage img(w, h, QImage::Format_RGB32);
        img.fill(QColor(20, 22, 30));
        QPainter painter(&img);
        painter.setRenderHint(QPainter::Antialiasing);
        painter.setPen(Qt::NoPen);
        painter.setBrush(QColor(90, 170, 255));
        for (const auto& d : dots) painter.drawEllipse(d + QPointF(4.0 * k, 2.0 * k), 3.0, 3.0);
        frames.push_back(img);
    }
    QTemporaryDir tmp;
    nlohmann::json j;
    j["width"] = w;
    j["height"] = h;
    j["frames"] = n;
    try {
        const std::string base = (tmp.path() + "/hd").toStdString();
        const std::pair<const char*, const char*> kinds[] = {{"mp4", ".mp4"}, {"gif", ".gif"}, {"png", "/"}};  // a folder: PNG sequence
        for (const auto& [name, suffix] : kinds) {
            const std::string path = base + suffix;
            QElapsedTimer t;
            t.start();
            tl::ui::AnimationWriter writer(path, w, h, 30);
            for (int k = 0; k < n; ++k) writer.addFrame(frames[static_cast<std::size_t>(k) % frames.size()]);
            writer.finish();
            j[std::string(name) + "_frames_per_second"] = n / (t.nsecsElapsed() * 1e-9);
        }
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    std::cout << j.dump() << std::endl;
    return 0;
}
