// Tests of VtkViewWidget (the Qt <-> VTK adapter) and PointCloudLayer with real rendering: needs an X
// display (run under xvfb-run); reads the framebuffer back and checks pixels at projected particle positions.
#include <QApplication>
#include <QGuiApplication>
#include <QImage>
#include <QMouseEvent>
#include <QWheelEvent>
#include <QtTest>
#include <cmath>
#include <memory>
#include <numbers>
#include <vector>

#include "measure/point_cloud.h"
#include "scene/point_cloud_layer.h"
#include "util/error.h"
#include "vtk/vtk_view_widget.h"

using tl::PointCloud;
using tl::ui::PointCloudLayer;
using tl::ui::VtkViewWidget;

namespace {

const QColor kBackground(10, 20, 40);
const QColor kRed(230, 70, 50);
const QColor kGreen(60, 210, 90);
constexpr double kPointSize = 14.0;  // framebuffer pixels
constexpr int kTol = 12;             // per channel, for "this pixel has that colour"

// Five well separated points spanning [-1, 1] x [-1, 1].
PointCloud knownCloud() {
    return PointCloud::withUniformWeights(2, {-1.0, -1.0, 1.0, 1.0, 0.0, 0.0, -1.0, 0.8, 0.9, -0.7});
}

bool near(QRgb p, const QColor& c, int tol = kTol) {
    return std::abs(qRed(p) - c.red()) <= tol && std::abs(qGreen(p) - c.green()) <= tol &&
           std::abs(qBlue(p) - c.blue()) <= tol;
}

QRgb pixelAt(const QImage& img, QPointF p) {
    const int x = static_cast<int>(std::floor(p.x())), y = static_cast<int>(std::floor(p.y()));
    if (x < 0 || y < 0 || x >= img.width() || y >= img.height()) return qRgb(255, 0, 255);
    return img.pixel(x, y);
}

// Runs a helper that uses QVERIFY and leaves the test function when it failed.
#define CHECK(call)                                  \
    do {                                             \
        call;                                        \
        if (QTest::currentTestFailed()) return;      \
    } while (false)

QString describe(QRgb p) { return QString("rgb(%1,%2,%3)").arg(qRed(p)).arg(qGreen(p)).arg(qBlue(p)); }

int countNear(const QImage& img, const QColor& c, int tol = kTol) {
    int n = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) n += near(img.pixel(x, y), c, tol) ? 1 : 0;
    return n;
}

double distance(QPointF a, QPointF b) { return std::hypot(a.x() - b.x(), a.y() - b.y()); }

}  // namespace

class TstVtkView : public QObject {
    Q_OBJECT

public:
    static void initMain() { VtkViewWidget::setDefaultSurfaceFormat(); }

private:
    // Shows `view` and waits until it has painted at least once more than `before`.
    static bool waitForFrame(VtkViewWidget& view, int before) {
        return QTest::qWaitFor([&] { return view.frameCount() > before; }, 10000);
    }
    static bool showAndWait(VtkViewWidget& view) {
        view.show();
        if (!QTest::qWaitForWindowExposed(&view, 10000)) return false;
        return waitForFrame(view, 0);
    }
    static void setUp(VtkViewWidget& view, PointCloudLayer& layer) {
        view.setBackground(kBackground);
        view.resize(420, 320);
        layer.setPoints(knownCloud());
        layer.setColor(kRed);
        layer.setPointSize(kPointSize);
        layer.attach(view.renderer());
        view.resetCamera(0.1);
    }
    // Each point of `cloud` has `color` at its projected centre in `img` (with `visibleOnly`, each point
    // whose disc lies inside the image; *checkedOut = how many were checked). Use through CHECK().
    static void verifyPointsAt(VtkViewWidget& view, const QImage& img, const PointCloud& cloud, const QColor& color,
                               bool visibleOnly = false, int* checkedOut = nullptr) {
        int checked = 0;
        for (std::size_t i = 0; i < cloud.size(); ++i) {
            const double* x = cloud.point(i);
            const QPointF p = view.worldToPixel(x[0], cloud.dim > 1 ? x[1] : 0.0);
            const QRectF inner = QRectF(img.rect()).adjusted(kPointSize, kPointSize, -kPointSize, -kPointSize);
            if (visibleOnly && !inner.contains(p)) continue;
            ++checked;
            const QRgb got = pixelAt(img, p);
            QVERIFY2(near(got, color), qPrintable(QString("point %1 at pixel (%2, %3): %4, expected %5")
                                                      .arg(i)
                                                      .arg(p.x())
                                                      .arg(p.y())
                                                      .arg(describe(got))
                                                      .arg(describe(color.rgb()))));
        }
        if (checkedOut) *checkedOut = checked;
    }

private slots:
    void initTestCase() {
        QVERIFY2(QGuiApplication::platformName() != "offscreen",
                 "QOpenGLWidget cannot run on the offscreen platform: run this test under xvfb-run");
    }

    void rendersRoundPointsAtProjectedPositions() {
        VtkViewWidget view;
        PointCloudLayer layer;
        setUp(view, layer);
        QVERIFY(showAndWait(view));

        const QImage img = view.grabImage();
        QCOMPARE(img.size(), view.framebufferSize());
        const PointCloud cloud = knownCloud();
        CHECK(verifyPointsAt(view, img, cloud, kRed));

        // Background in the corners and half-way between two particles.
        for (QPointF p : {QPointF(2, 2), QPointF(img.width() - 3, 2), QPointF(2, img.height() - 3),
                          QPointF(img.width() - 3, img.height() - 3)})
            QVERIFY2(near(pixelAt(img, p), kBackground, 3), qPrintable(describe(pixelAt(img, p))));
        const QPointF mid = (view.worldToPixel(0.0, 0.0) + view.worldToPixel(1.0, 1.0)) / 2.0;
        QVERIFY2(near(pixelAt(img, mid), kBackground, 3), qPrintable(describe(pixelAt(img, mid))));

        // Round: the corners of each point's bounding square are background, the inscribed disc is not.
        const double r = kPointSize / 2.0;
        for (std::size_t i = 0; i < cloud.size(); ++i) {
            const QPointF c = view.worldToPixel(cloud.point(i)[0], cloud.point(i)[1]);
            for (QPointF d : {QPointF(1, 1), QPointF(-1, 1), QPointF(1, -1), QPointF(-1, -1)}) {
                const QPointF corner = c + d * (0.85 * r);  // |d| * 0.85 r = 1.2 r: outside the disc
                QVERIFY2(near(pixelAt(img, corner), kBackground, 8),
                         qPrintable("square corner of point " + QString::number(i) + ": " +
                                    describe(pixelAt(img, corner))));
                const QPointF inside = c + d * (0.45 * r);  // 0.64 r: inside the disc
                QVERIFY2(near(pixelAt(img, inside), kRed), qPrintable(describe(pixelAt(img, inside))));
            }
        }

        // Area: about pi r^2 fully coloured pixels per point (a square would give 4 r^2 = 1.27x).
        const double disc = std::numbers::pi * r * r;
        const int red = countNear(img, kRed);
        QVERIFY2(red > 0.75 * disc * 5 && red < 1.12 * disc * 5,
                 qPrintable(QString("%1 red pixels, expected about %2").arg(red).arg(disc * 5)));
        // Nothing else on screen: background + red + their antialiased blends only.
        const int bg = countNear(img, kBackground, 3);
        QVERIFY(bg + red > img.width() * img.height() - 5 * 2 * std::numbers::pi * r * 2);

        // The widget is opaque: VTK's alpha was overwritten with 1.
        const QImage raw = view.grabFramebuffer();
        QCOMPARE(qAlpha(raw.pixel(2, 2)), 255);
        QCOMPARE(qAlpha(raw.pixel(raw.width() / 2, raw.height() / 2)), 255);
    }

    void setPointsUpdatesInPlace() {
        VtkViewWidget view;
        PointCloudLayer layer;
        setUp(view, layer);
        QVERIFY(showAndWait(view));
        QCOMPARE(layer.reallocationCount(), 1);

        PointCloud moved = knownCloud();  // x -> 0.6 x + (0.3, 0.2): stays in view, every point moves
        for (std::size_t i = 0; i < moved.size(); ++i) {
            moved.point(i)[0] = 0.6 * moved.point(i)[0] + 0.3;
            moved.point(i)[1] = 0.6 * moved.point(i)[1] + 0.2;
        }
        const int before = view.frameCount();
        layer.setPoints(moved);
        view.requestRender();
        QVERIFY(waitForFrame(view, before));
        QCOMPARE(layer.reallocationCount(), 1);  // same count: the buffer was rewritten, not reallocated
        QCOMPARE(layer.size(), std::size_t(5));

        const QImage img = view.grabImage();
        CHECK(verifyPointsAt(view, img, moved, kRed));
        const PointCloud old = knownCloud();
        for (std::size_t i = 0; i < old.size(); ++i) {
            const QPointF p = view.worldToPixel(old.point(i)[0], old.point(i)[1]);
            bool covered = false;  // by a moved point
            for (std::size_t j = 0; j < moved.size(); ++j)
                covered = covered || distance(p, view.worldToPixel(moved.point(j)[0], moved.point(j)[1])) < kPointSize;
            if (!covered)
                QVERIFY2(near(pixelAt(img, p), kBackground, 3), qPrintable("stale point " + QString::number(i)));
        }

        // A different count reallocates once and renders every point.
        PointCloud more = PointCloud::withUniformWeights(2, {-0.5, 0.5, 0.5, 0.5, 0.5, -0.2});
        layer.setPoints(more);
        QCOMPARE(layer.reallocationCount(), 2);
        QCOMPARE(layer.size(), std::size_t(3));
        const QImage img2 = view.grabImage();
        CHECK(verifyPointsAt(view, img2, more, kRed));
    }

    void laterLayerDrawsOnTopAndOneDimensionalCloudsLieOnTheAxis() {
        VtkViewWidget view;
        PointCloudLayer red, green, line;
        setUp(view, red);
        green.setPoints(knownCloud());
        green.setColor(kGreen);
        green.setPointSize(kPointSize * 0.6);
        green.attach(view.renderer());
        const PointCloud axis = PointCloud::withUniformWeights(1, {-0.5, 0.5});
        line.setPoints(axis);
        line.setColor(kGreen);
        line.setPointSize(kPointSize);
        line.attach(view.renderer());
        QVERIFY(showAndWait(view));

        const QImage img = view.grabImage();
        CHECK(verifyPointsAt(view, img, knownCloud(), kGreen));  // centres: the later, smaller green points
        const PointCloud cloud = knownCloud();
        for (std::size_t i = 0; i < cloud.size(); ++i) {  // rims: the red points beneath
            const QPointF rim = view.worldToPixel(cloud.point(i)[0], cloud.point(i)[1]) + QPointF(0.8 * kPointSize / 2, 0);
            QVERIFY2(near(pixelAt(img, rim), kRed), qPrintable(describe(pixelAt(img, rim))));
        }
        CHECK(verifyPointsAt(view, img, axis, kGreen));  // 1-D: drawn at y = 0
        QVERIFY(countNear(img, kRed) > 100);
        QVERIFY(countNear(img, kGreen) > 100);

        // Hiding a layer removes it from the picture.
        const int before = view.frameCount();
        green.setVisible(false);
        line.setVisible(false);
        view.requestRender();
        QVERIFY(waitForFrame(view, before));
        const QImage img2 = view.grabImage();
        CHECK(verifyPointsAt(view, img2, knownCloud(), kRed));
        QCOMPARE(countNear(img2, kGreen), 0);
    }

    void rejectsBadClouds() {
        PointCloudLayer layer;
        PointCloud bad;
        bad.dim = 4;
        bad.points = {0, 0, 0, 0};
        bad.weights = {1};
        QVERIFY_THROWS_EXCEPTION(tl::Error, layer.setPoints(bad));
        bad.dim = 2;
        bad.points = {0, 0, 0};
        QVERIFY_THROWS_EXCEPTION(tl::Error, layer.setPoints(bad));
    }

    void wheelZoomsDragPansAndKeysAreFiltered() {
        VtkViewWidget view;
        PointCloudLayer layer;
        setUp(view, layer);
        QVERIFY(showAndWait(view));
        const double dpr = view.devicePixelRatioF();

        const QPointF a0 = view.worldToPixel(-1.0, -1.0), b0 = view.worldToPixel(1.0, 1.0);
        const QPointF centre(view.width() / 2.0, view.height() / 2.0);

        // Wheel forward zooms in about the centre.
        int before = view.frameCount();
        QWheelEvent wheel(centre, view.mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(&view, &wheel);
        QVERIFY(waitForFrame(view, before));  // the interactor's render request became a repaint
        const QPointF a1 = view.worldToPixel(-1.0, -1.0), b1 = view.worldToPixel(1.0, 1.0);
        const double zoom = distance(a1, b1) / distance(a0, b0);
        QVERIFY2(zoom > 1.1 && zoom < 1.5, qPrintable(QString("zoom %1").arg(zoom)));

        // Left drag pans: the scene follows the mouse.
        const QPointF origin = view.worldToPixel(0.0, 0.0);
        const QPointF start = centre, step(20, 12);
        auto send = [&](QEvent::Type type, QPointF pos, Qt::MouseButtons buttons) {
            QMouseEvent e(type, pos, view.mapToGlobal(pos), Qt::LeftButton, buttons, Qt::NoModifier);
            QApplication::sendEvent(&view, &e);
        };
        before = view.frameCount();
        send(QEvent::MouseButtonPress, start, Qt::LeftButton);
        send(QEvent::MouseMove, start + step, Qt::LeftButton);
        send(QEvent::MouseMove, start + 2 * step, Qt::LeftButton);
        send(QEvent::MouseButtonRelease, start + 2 * step, Qt::NoButton);
        QVERIFY(waitForFrame(view, before));
        const QPointF moved = view.worldToPixel(0.0, 0.0) - origin;
        QVERIFY2(distance(moved, 2 * step * dpr) < 3.0,
                 qPrintable(QString("panned by (%1, %2)").arg(moved.x()).arg(moved.y())));
        const QImage img = view.grabImage();
        int visible = 0;
        CHECK(verifyPointsAt(view, img, knownCloud(), kRed, true, &visible));
        QVERIFY(visible >= 3);

        // 'q' and 'e' never reach VTK (its default styles would quit); the view lives on.
        QTest::keyClick(&view, Qt::Key_Q);
        QTest::keyClick(&view, Qt::Key_E);
        QVERIFY(view.isVisible());
        QCOMPARE(view.worldToPixel(0.0, 0.0), origin + moved);

        // 'r' is forwarded: the camera fits the cloud again.
        before = view.frameCount();
        QTest::keyClick(&view, Qt::Key_R);
        QVERIFY(waitForFrame(view, before));
        QVERIFY(distance(view.worldToPixel(0.0, 0.0), origin) < 1.0);
        QVERIFY(distance(view.worldToPixel(1.0, 1.0), b0) < 1.0);
    }

    void resizeKeepsPixelsAndProjectionInStep() {
        VtkViewWidget view;
        PointCloudLayer layer;
        setUp(view, layer);
        QVERIFY(showAndWait(view));
        const int before = view.frameCount();
        view.resize(560, 300);
        QVERIFY(waitForFrame(view, before));
        const QImage img = view.grabImage();
        QCOMPARE(img.size(), view.framebufferSize());
        QCOMPARE(img.size(), QSize(560, 300) * view.devicePixelRatioF());
        CHECK(verifyPointsAt(view, img, knownCloud(), kRed));
    }

    void trackball3DShowsLitSpheres() {
        VtkViewWidget view;
        PointCloudLayer layer;
        setUp(view, layer);
        const PointCloud cloud =
            PointCloud::withUniformWeights(3, {-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.5});
        layer.setPoints(cloud);
        layer.setPointStyle(PointCloudLayer::PointStyle::Sphere);
        view.setInteraction(VtkViewWidget::Interaction::Trackball3D);
        QVERIFY(showAndWait(view));

        const QImage img = view.grabImage();
        for (std::size_t i = 0; i < cloud.size(); ++i) {
            const double* x = cloud.point(i);
            const QRgb c = pixelAt(img, view.worldToPixel(x[0], x[1], x[2]));
            QVERIFY2(qRed(c) > qGreen(c) + 60 && qRed(c) > qBlue(c) + 60, qPrintable(describe(c)));
        }
        // Lit: a sphere's rim is darker than its centre.
        const QPointF c = view.worldToPixel(0.0, 0.0, 0.0);
        const QRgb centre = pixelAt(img, c), rim = pixelAt(img, c + QPointF(0.4 * kPointSize, 0.0));
        QVERIFY2(qRed(rim) + 20 < qRed(centre), qPrintable(describe(rim) + " vs " + describe(centre)));
    }

    void destroyingTheLayerFirstOrTheViewFirstIsSafe() {
        {
            auto view = std::make_unique<VtkViewWidget>();
            auto layer = std::make_unique<PointCloudLayer>(knownCloud());
            layer->attach(view->renderer());
            QVERIFY(showAndWait(*view));
            layer.reset();  // releases its GL resources on the view's context
            const int before = view->frameCount();
            view->requestRender();
            QVERIFY(waitForFrame(*view, before));
        }
        {
            auto layer = std::make_unique<PointCloudLayer>(knownCloud());
            auto view = std::make_unique<VtkViewWidget>();
            layer->attach(view->renderer());
            QVERIFY(showAndWait(*view));
            view.reset();  // finalizes VTK on its context; the layer still holds the renderer
            layer->setPoints(knownCloud());
        }
    }
};

QTEST_MAIN(TstVtkView)
#include "tst_vtk_view.moc"
