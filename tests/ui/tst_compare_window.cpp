// The comparison window plays a scenario: frames computed on the runner's thread reach the views,
// time advances while playing and stops when paused, space toggles, arrows step, a failing panel
// shows its reason while the others play. Needs an X display (QOpenGLWidget).
#include <QApplication>
#include <QElapsedTimer>
#include <QTest>
#include <QtTest>

#include "engine/scenario.h"
#include "scene/panel_scene.h"
#include "vtk/vtk_view_widget.h"
#include "widgets/compare_window.h"

namespace {

tl::Scenario smallScenario(const char* source) {
    const std::string json = std::string(R"json({"source": ")json") + source + R"json(", "target": "moons:n=300,seed=2", "frames": 11,
      "panels": [{"dynamics": "ot-displacement", "method": "exact"},
                 {"dynamics": "flow-matching", "field": "closed-form", "steps": 20}]})json";
    return tl::parseScenario(json, ".", "test scenario");
}

bool waitUntil(const std::function<bool()>& pred, int ms) {
    QElapsedTimer clock;
    clock.start();
    while (!pred() && clock.elapsed() < ms) {
        QApplication::processEvents(QEventLoop::AllEvents, 20);
        QTest::qWait(10);
    }
    return pred();
}

}  // namespace

class TestCompareWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { tl::ui::VtkViewWidget::setDefaultSurfaceFormat(); }

    void playsPausesAndSteps() {
        tl::ui::CompareWindow w(smallScenario("gaussian:n=300,seed=1"));
        tl::ui::LayerOptions uniform;
        uniform.color = tl::ui::ColorMode::Uniform;  // the particle blue this test counts
        w.setLayers(uniform);
        w.resize(900, 500);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(waitUntil([&] { return w.computationFinished(); }, 60000));
        QVERIFY(w.samplingError().isEmpty());
        QVERIFY(w.isPlaying());  // opens playing
        const double t0 = w.time();
        QTest::qWait(400);
        const double t1 = w.time();
        QVERIFY2(t1 != t0, "time did not advance while playing");
        QTest::keyClick(&w, Qt::Key_Space);
        QVERIFY(!w.isPlaying());
        const double tp = w.time();
        QTest::qWait(300);
        QCOMPARE(w.time(), tp);  // paused: frozen
        w.setTime(0.0);
        QTest::keyClick(&w, Qt::Key_Right);
        QVERIFY(std::abs(w.time() - 0.1) < 1e-12);  // one frame of 11
        QTest::keyClick(&w, Qt::Key_Left);
        QVERIFY(std::abs(w.time()) < 1e-12);
        // The views show particles: the grabbed window has many particle-blue pixels.
        w.setTime(0.5);
        const QImage img = w.grabWindowImage().convertToFormat(QImage::Format_RGB32);
        int blue = 0;
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x) {
                const QColor c(img.pixel(x, y));
                blue += (c.hsvSaturation() > 100 && c.value() > 120 && c.hsvHue() >= 190 && c.hsvHue() <= 230) ? 1 : 0;
            }
        QVERIFY2(blue > 2000, qPrintable(QString("particle pixels: %1").arg(blue)));
    }

    void failingPanelDoesNotStopTheWindow() {
        // A moons source: flow-matching closed-form cannot run (needs a Gaussian source); OT still plays.
        tl::ui::CompareWindow w(smallScenario("moons:n=300,seed=3"));
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(waitUntil([&] { return w.computationFinished(); }, 60000));
        QVERIFY(w.samplingError().isEmpty());
        const double t0 = w.time();
        QTest::qWait(300);
        QVERIFY(w.time() != t0);
    }
};

QTEST_MAIN(TestCompareWindow)
#include "tst_compare_window.moc"
