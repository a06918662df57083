#include <QString>
#include <QtGlobal>

#include <iostream>

#include "cli/cli.h"
#include "image_reader_qt.h"

int main(int argc, char** argv) {
    // Errors reach the user as one line from runCli: Qt's warnings and what the image libraries
    // print while decoding (e.g. "libpng error: ...") are kept off stderr.
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& msg) {
        if (type == QtCriticalMsg || type == QtFatalMsg) std::cerr << msg.toStdString() << "\n";
    });
    tl::installQtImageReaders(/*quiet=*/true);
    std::vector<std::string> args(argv + 1, argv + argc);
    return tl::cli::runCli(args, std::cout, std::cerr);
}
