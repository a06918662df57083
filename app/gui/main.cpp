// transportlab: the desktop app. Opens a scenario (default: Gaussian -> two moons, optimal transport
// and flow matching side by side) and plays it; --screenshot FILE waits for the frames, renders the
// window at --time T, saves a PNG and exits (for tests, docs and headless machines).
#include <QApplication>
#include <QColor>
#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMainWindow>
#include <QMessageBox>
#include <QSaveFile>
#include <QThread>
#include <QTimer>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <exception>
#include <string>

#include "util/simd.h"
#include "image_reader_qt.h"
#include "measure/point_cloud.h"
#include "measure/spec.h"
#include "engine/scenario.h"
#include "util/error.h"
#include "vtk/vtk_view_widget.h"
#include "scene/layers.h"
#include "scene/panel_scene.h"
#include "widgets/compare_window.h"

namespace {

// The opening scene is a preset like the others (resources/scenarios/default.json), compiled in as a
// Qt resource so that the app opens it wherever it is installed.
tl::Scenario defaultScenario() {
    QFile f(":/scenarios/default.json");
    if (!f.open(QIODevice::ReadOnly)) throw tl::Error("the default scenario is missing from the build (:/scenarios/default.json)");
    return tl::parseScenario(f.readAll().toStdString(), QDir::currentPath().toStdString(), "default scenario");
}

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
    QCommandLineOption source{"source", "Source measure SPEC (e.g. gaussian:n=2000,seed=1); default: the scenario's.", "SPEC"};
    QCommandLineOption target{"target", "Target measure SPEC (e.g. moons:n=2000,seed=2); default: the scenario's.", "SPEC"};
    QCommandLineOption scenario{"scenario", "Scenario JSON to open (default: Gaussian -> moons, OT vs flow matching).", "FILE"};
    QCommandLineOption screenshot{"screenshot", "Wait for the frames, save the window at --time as a PNG to FILE and exit.", "FILE"};
    QCommandLineOption time{"time", "Time in [0, 1] shown by --screenshot (default 0.5).", "T", "0.5"};
    QCommandLineOption layers{"layers", QString::fromStdString("Layers shown: comma list of " + tl::ui::layerNames() + "."), "LIST",
                              "particles,trajectories,ellipses,target,axes"};
    QCommandLineOption color{"color", "Particle colours: position | speed | label | uniform.", "MODE", "position"};

    CommandLine() {
        parser.setApplicationDescription("TransportLab: optimal transport and flows between measures, visualised.");
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addOptions({scenario, source, target, screenshot, time, layers, color});
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
    QCoreApplication::setOrganizationName("TransportLab");
    QCoreApplication::setApplicationName("TransportLab");
    QCoreApplication::setApplicationVersion("0.1.0");
}

}  // namespace

int main(int argc, char** argv) {
    // TL_SIMD (util/simd.h) first: a bad value is one line and exit 2, before any window.
    try {
        tl::simd::configure();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "transportlab: %s\n", e.what());
        return 2;
    }
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

    // The scenario: a file, or the default comparison; --source / --target replace its measures. A bad
    // file or SPEC: headless runs fail with a message; the interactive app says so and opens the default.
    tl::Scenario scenario;
    QString startupError;
    try {
        if (cli.parser.isSet(cli.scenario)) {
            scenario = tl::loadScenario(cli.parser.value(cli.scenario).toStdString());
        } else {
            scenario = defaultScenario();
        }
        if (cli.parser.isSet(cli.source)) scenario.source = sourceSpec.toStdString();
        if (cli.parser.isSet(cli.target)) scenario.target = targetSpec.toStdString();
        if (cli.parser.isSet(cli.source) || cli.parser.isSet(cli.target)) {
            scenario.name = titleFor(QString::fromStdString(scenario.source), QString::fromStdString(scenario.target)).toStdString();
            scenario.baseDir = QDir::currentPath().toStdString();
            (void)tl::sampleMeasure(scenario.source, scenario.baseDir);  // a bad SPEC is reported now, by name
            (void)tl::sampleMeasure(scenario.target, scenario.baseDir);
        }
    } catch (const std::exception& e) {
        if (headless) return fail(QString::fromUtf8(e.what()));
        startupError = QString::fromUtf8(e.what());
        scenario = defaultScenario();
    }
    bool timeOk = false;
    const double shotTime = cli.parser.value(cli.time).toDouble(&timeOk);
    if (!timeOk || shotTime < 0 || shotTime > 1) return fail("--time must be a number in [0, 1]");

    tl::ui::LayerOptions layers;
    try {
        layers = tl::ui::layerOptionsFromText(cli.parser.value(cli.layers).toStdString(), cli.parser.value(cli.color).toStdString());
    } catch (const std::exception& e) {
        return fail("--layers / --color: " + QString::fromUtf8(e.what()));
    }
    tl::ui::CompareWindow window(scenario);
    window.setLayers(layers);
    window.resize(1440, 900);
    window.show();

    if (headless) {
        window.setPlaying(false);  // no animation while waiting: the CPU goes to the computation
        QElapsedTimer clock;
        clock.start();
        while (!window.computationFinished() && clock.elapsed() < 300000) {
            QApplication::processEvents(QEventLoop::AllEvents, 50);
            QThread::msleep(5);
        }
        if (!window.samplingError().isEmpty()) return fail(window.samplingError());
        if (!window.computationFinished()) return fail("the scenario did not finish computing within 5 minutes");
        window.setPlaying(false);
        window.setTime(shotTime);
        QApplication::processEvents();
        QString error;
        if (!saveAtomically(window.grabWindowImage(), shotPath, &error))
            return fail("cannot write '" + shotPath + "': " + error);
        return 0;
    }
    if (!startupError.isEmpty())
        QTimer::singleShot(0, &window, [&] { QMessageBox::critical(&window, "TransportLab", startupError + "\n\nThe default scenario is shown instead."); });
    return QApplication::exec();
}
