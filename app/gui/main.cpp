// transportlab: the desktop app. Shows a source and a target measure (SPEC strings) in one VTK view;
// --screenshot FILE renders once, saves a PNG and exits (for tests, docs and headless machines).
#include <QApplication>
#include <QColor>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMainWindow>
#include <QMessageBox>
#include <QSaveFile>
#include <QThread>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <exception>
#include <string>

#include "image_reader_qt.h"
#include "measure/point_cloud.h"
#include "measure/spec.h"
#include "scene/point_cloud_layer.h"
#include "scene/text_overlay.h"
#include "vtk/vtk_view_widget.h"

namespace {

const char* const kDefaultSource = "gaussian:n=2000,mean=0;0,cov=1;0;0;1,seed=1";
const char* const kDefaultTarget = "moons:n=2000,seed=2";
const QColor kBackground(20, 22, 30);
const QColor kSourceColor(86, 160, 240);  // blue
const QColor kTargetColor(245, 146, 52);  // orange

// "gaussian:n=2000,..." -> "gaussian"; "data/x.csv" -> "x.csv".
QString kindOf(const QString& spec) {
    const int colon = spec.indexOf(':');
    if (colon > 0) return spec.left(colon);
    return QFileInfo(spec).fileName();
}

QString titleFor(const QString& source, const QString& target) {
    QString s = kindOf(source);
    if (!s.isEmpty()) s[0] = s[0].toUpper();
    return s + QString::fromUtf8(" \u2192 ") + kindOf(target);
}

// Processes events until the view has painted at least once (or `ms` elapse).
bool waitForFirstFrame(const tl::ui::VtkViewWidget& view, int ms) {
    QElapsedTimer clock;
    clock.start();
    while (view.frameCount() == 0 && clock.elapsed() < ms) {
        QApplication::processEvents(QEventLoop::AllEvents, 50);
        QThread::msleep(5);
    }
    return view.frameCount() > 0;
}

bool saveAtomically(const QImage& image, const QString& path, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = file.errorString();
        return false;
    }
    if (!image.save(&file, "PNG")) {
        *error = "cannot encode PNG";
        file.cancelWriting();
        return false;
    }
    if (!file.commit()) {
        *error = file.errorString();
        return false;
    }
    return true;
}

// The command line, declared once for the GUI and the display-less --help / --version path.
struct CommandLine {
    QCommandLineParser parser;
    QCommandLineOption source{"source", "Source measure SPEC (e.g. gaussian:n=2000,seed=1).", "SPEC", kDefaultSource};
    QCommandLineOption target{"target", "Target measure SPEC (e.g. moons:n=2000,seed=2).", "SPEC", kDefaultTarget};
    QCommandLineOption screenshot{"screenshot", "Render once, save the view as a PNG to FILE and exit.", "FILE"};

    CommandLine() {
        parser.setApplicationDescription("TransportLab: optimal transport and flows between measures, visualised.");
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addOptions({source, target, screenshot});
    }
};

// True when argv holds one of `names`, alone or as "--name=value".
bool hasArgument(int argc, char** argv, std::initializer_list<const char*> names) {
    for (int i = 1; i < argc; ++i)
        for (const char* name : names) {
            const std::size_t n = std::strlen(name);
            if (std::strncmp(argv[i], name, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '=')) return true;
        }
    return false;
}

// Why this process cannot host an OpenGL widget, or "" when it probably can.
QString displayProblem() {
    const QString platform = qEnvironmentVariable("QT_QPA_PLATFORM");
    if (platform.startsWith("offscreen") || platform.startsWith("minimal"))
        return "Qt's '" + platform + "' platform cannot host OpenGL widgets; run under xvfb-run -a instead";
    if (platform.isEmpty() && qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
        return "no display (DISPLAY is not set); run under xvfb-run -a";
    return QString();
}

void setApplicationNames() {
    QCoreApplication::setApplicationName("TransportLab");
    QCoreApplication::setApplicationVersion("0.1.0");
}

}  // namespace

int main(int argc, char** argv) {
    // --help and --version need no display.
    if (hasArgument(argc, argv, {"-h", "--help", "--help-all", "-v", "--version"})) {
        QCoreApplication core(argc, argv);
        setApplicationNames();
        CommandLine cli;
        cli.parser.process(core);  // prints and exits
        return 0;
    }
    // Headless runs report a missing display as an error instead of letting Qt abort.
    if (hasArgument(argc, argv, {"--screenshot"})) {
        const QString problem = displayProblem();
        if (!problem.isEmpty()) {
            std::fprintf(stderr, "transportlab: %s\n", problem.toLocal8Bit().constData());
            return 1;
        }
    }

    tl::ui::VtkViewWidget::setDefaultSurfaceFormat();  // before the QApplication
    QApplication app(argc, argv);
    setApplicationNames();
    tl::installQtImageReaders();

    CommandLine cli;
    cli.parser.process(app);  // prints and exits on unknown options
    const QString sourceSpec = cli.parser.value(cli.source);
    const QString targetSpec = cli.parser.value(cli.target);
    const QString shotPath = cli.parser.value(cli.screenshot);
    const bool headless = cli.parser.isSet(cli.screenshot);

    auto fail = [&](const QString& message) {
        if (headless) std::fprintf(stderr, "transportlab: %s\n", message.toLocal8Bit().constData());
        else QMessageBox::critical(nullptr, "TransportLab", message);
        return 1;
    };

    tl::PointCloud source, target;
    try {
        const std::string baseDir = QDir::currentPath().toStdString();
        source = tl::measureFromSpec(sourceSpec.toStdString(), baseDir);
        target = tl::measureFromSpec(targetSpec.toStdString(), baseDir);
    } catch (const std::exception& e) {
        return fail(QString::fromUtf8(e.what()));
    }

    const QString title = titleFor(sourceSpec, targetSpec);
    QMainWindow window;
    window.setWindowTitle(QString::fromUtf8("TransportLab \u2014 ") + title);
    auto* view = new tl::ui::VtkViewWidget(&window);
    window.setCentralWidget(view);
    view->setBackground(kBackground);

    const double dpr = view->devicePixelRatioF();
    tl::ui::PointCloudLayer sourceLayer(source), targetLayer(target);
    sourceLayer.setColor(kSourceColor);
    targetLayer.setColor(kTargetColor);
    for (auto* layer : {&sourceLayer, &targetLayer}) {
        layer->setPointSize(6.0 * dpr);
        layer->attach(view->renderer());
    }

    tl::ui::TextOverlay heading(title, tl::ui::TextOverlay::Anchor::TopCenter);
    heading.setFontSize(22);
    heading.setBold(true);
    heading.attach(view->renderer());
    const QString bullet = QString::fromUtf8("\u25CF ");
    tl::ui::TextOverlay sourceLegend(bullet + "source  " + sourceSpec, tl::ui::TextOverlay::Anchor::BottomLeft);
    sourceLegend.setColor(kSourceColor);
    sourceLegend.setFontSize(13);
    sourceLegend.attach(view->renderer());
    tl::ui::TextOverlay targetLegend(bullet + "target  " + targetSpec, tl::ui::TextOverlay::Anchor::BottomRight);
    targetLegend.setColor(kTargetColor);
    targetLegend.setFontSize(13);
    targetLegend.attach(view->renderer());

    view->resetCamera();
    window.resize(1200, 760);
    window.show();

    if (headless) {
        if (!waitForFirstFrame(*view, 20000)) return fail("the view was never painted (no OpenGL 3.2 display?)");
        QString error;
        if (!saveAtomically(view->grabImage(), shotPath, &error))
            return fail("cannot write '" + shotPath + "': " + error);
        return 0;
    }
    return QApplication::exec();
}
