// transportlab-viewbench: frame time of the app's view (VtkViewWidget + PanelScene, the layers the
// window draws) vs a minimal raw-OpenGL draw of the same moving points (one VBO, GL_POINTS, the same
// round-splat fragment rule), both in a QOpenGLWidget of the same size, both timed as "new positions
// -> drawn and read back" (grabFramebuffer), so the readback cost is the same on both sides.
// Needs an X server (xvfb-run -a). Prints one JSON object. Profiling knobs: TL_VIEWBENCH_VERBOSE=1
// (per-frame times), TL_VIEWBENCH_STATIC=1 (the app side draws without new coordinates),
// TL_VIEWBENCH_ONLY=app|raw (draw one side only, e.g. under perf).
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QOpenGLBuffer>
#include <QOpenGLExtraFunctions>
#include <QOpenGLShaderProgram>
#include <QOpenGLVertexArrayObject>
#include <QOpenGLWidget>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "engine/frame.h"
#include "scene/panel_scene.h"
#include "vtk/vtk_view_widget.h"

namespace {

// The peer: what a hand-written OpenGL viewer would do per frame.
class RawPointsWidget : public QOpenGLWidget, protected QOpenGLExtraFunctions {
public:
    std::vector<float> xyz;  // n x 3
    float pointSize = 5;
    float scale = 0.25f;

protected:
    void initializeGL() override {
        initializeOpenGLFunctions();
        program_.addShaderFromSourceCode(QOpenGLShader::Vertex, R"(#version 150 core
in vec3 position;
uniform float scale;
uniform float pointSize;
uniform float aspect;
void main() { gl_Position = vec4(position.x * scale / aspect, position.y * scale, 0.0, 1.0); gl_PointSize = pointSize; })");
        program_.addShaderFromSourceCode(QOpenGLShader::Fragment, R"(#version 150 core
uniform float pointSize;
out vec4 color;
void main() {
  float r = length(2.0 * gl_PointCoord - 1.0);
  float coverage = clamp((1.0 - r) * pointSize * 0.5 + 0.5, 0.0, 1.0);
  if (coverage <= 0.0) discard;
  color = vec4(0.34, 0.63, 0.94, coverage);
})");
        program_.bindAttributeLocation("position", 0);
        program_.link();
        vao_.create();
        vao_.bind();
        vbo_.create();
        vbo_.bind();
        vbo_.setUsagePattern(QOpenGLBuffer::DynamicDraw);
        vbo_.allocate(static_cast<int>(xyz.size() * sizeof(float)));
        glEnableVertexAttribArray(0);
        glVertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, 0, nullptr);
        vao_.release();
        glEnable(GL_PROGRAM_POINT_SIZE);
    }
    void paintGL() override {
        glClearColor(20 / 255.f, 22 / 255.f, 30 / 255.f, 1.f);
        glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
        glEnable(GL_BLEND);
        glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
        program_.bind();
        program_.setUniformValue("scale", scale);
        program_.setUniformValue("pointSize", pointSize);
        program_.setUniformValue("aspect", static_cast<float>(width()) / static_cast<float>(height()));
        vao_.bind();
        vbo_.bind();
        vbo_.write(0, xyz.data(), static_cast<int>(xyz.size() * sizeof(float)));  // the per-frame upload
        glDrawArrays(GL_POINTS, 0, static_cast<GLsizei>(xyz.size() / 3));
        vao_.release();
    }

private:
    QOpenGLShaderProgram program_;
    QOpenGLVertexArrayObject vao_;
    QOpenGLBuffer vbo_{QOpenGLBuffer::VertexBuffer};
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    tl::ui::VtkViewWidget::setDefaultSurfaceFormat();
    QApplication app(argc, argv);
    QCommandLineParser p;
    p.addOptions({{"points", "particles", "N", "100000"}, {"frames", "timed frames per side", "F", "30"},
                  {"width", "view width", "W", "1200"}, {"height", "view height", "H", "720"}});
    p.process(app);
    const int n = p.value("points").toInt(), frames = std::max(3, p.value("frames").toInt());
    const int width = p.value("width").toInt(), height = p.value("height").toInt();

    // The same seeded points for both; each frame rotates them a little (new coordinates every frame).
    std::mt19937 rng(7);
    std::normal_distribution<double> g(0.0, 1.0);
    std::vector<double> base(2 * static_cast<std::size_t>(n));
    for (double& v : base) v = g(rng);
    auto positionsAt = [&](int k, std::vector<double>& out) {
        const double a = 0.01 * k, c = std::cos(a), s = std::sin(a);
        out.resize(base.size());
        for (int i = 0; i < n; ++i) {
            out[2 * i] = c * base[2 * i] - s * base[2 * i + 1];
            out[2 * i + 1] = s * base[2 * i] + c * base[2 * i + 1];
        }
    };
    // Frames are prepared up front: in the app the compute thread makes them.
    std::vector<tl::FramePtr> run;
    for (int k = 0; k < frames + 3; ++k) {
        auto f = std::make_shared<tl::Frame>();
        f->t = static_cast<double>(k) / (frames + 2);
        f->dim = 2;
        positionsAt(k, f->positions);
        f->weights.assign(static_cast<std::size_t>(n), 1.0 / n);
        run.push_back(f);
    }

    // Both views live side by side and are timed alternately, frame by frame, so that load from
    // anything else on the machine hits both sides alike.
    std::vector<double> appMs, rawMs;
    tl::ui::VtkViewWidget view;
    view.resize(width, height);
    view.show();
    tl::ui::PanelScene scene(view.renderer(), view.devicePixelRatioF());
    tl::ui::LayerOptions l;
    l.target = l.overlays = l.trajectories = false;  // the points alone, as the raw peer draws them
    l.color = tl::ui::ColorMode::Uniform;
    scene.setOptions(l);
    RawPointsWidget raw;
    raw.xyz.assign(3 * static_cast<std::size_t>(n), 0.0f);
    double extent = 1e-9;  // the same framing as the app's camera fit: the cloud fills the view
    for (double v : base) extent = std::max(extent, std::abs(v));
    raw.scale = static_cast<float>(0.88 / extent);
    raw.pointSize = static_cast<float>(5.0 * raw.devicePixelRatioF());
    raw.resize(width, height);
    raw.show();
    QApplication::processEvents();
    scene.show(run, 0.0);
    view.resetCamera();
    for (int w = 0; w < 3; ++w) {  // warm-up: shaders compiled, buffers allocated
        view.grabImage();
        (void)raw.grabFramebuffer();
    }
    const bool verbose = qEnvironmentVariableIsSet("TL_VIEWBENCH_VERBOSE");
    auto timeApp = [&](const tl::FramePtr& frame) {
        QElapsedTimer clock;
        clock.start();
        const QString only = qEnvironmentVariable("TL_VIEWBENCH_ONLY");  // profiling one side
        if (!qEnvironmentVariableIsSet("TL_VIEWBENCH_STATIC")) scene.show(run, frame->t);
        if (only != "raw") (void)view.grabFramebuffer();
        appMs.push_back(clock.nsecsElapsed() / 1e6);
    };
    auto timeRaw = [&](const tl::FramePtr& frame) {
        QElapsedTimer clock;
        clock.start();
        for (int i = 0; i < n; ++i) {
            raw.xyz[3 * i] = static_cast<float>(frame->positions[2 * i]);
            raw.xyz[3 * i + 1] = static_cast<float>(frame->positions[2 * i + 1]);
        }
        if (qEnvironmentVariable("TL_VIEWBENCH_ONLY") != "app") (void)raw.grabFramebuffer();
        rawMs.push_back(clock.nsecsElapsed() / 1e6);
    };
    for (int k = 0; k < frames; ++k) {
        // Alternate which side goes first, so neither always runs on warm caches.
        const auto& frame = run[static_cast<std::size_t>(k + 1)];
        if (k % 2 == 0) {
            timeApp(frame);
            timeRaw(frame);
        } else {
            timeRaw(frame);
            timeApp(frame);
        }
        if (verbose) std::fprintf(stderr, "app %.2f ms; raw %.2f ms\n", appMs.back(), rawMs.back());
    }
    const double a = median(appMs), r = median(rawMs);
    std::printf("{\"points\": %d, \"frames\": %d, \"width\": %d, \"height\": %d, \"app_ms_per_frame\": %.3f, \"raw_gl_ms_per_frame\": %.3f, "
                "\"ratio\": %.3f}\n",
                n, frames, width, height, a, r, r > 0 ? a / r : 0.0);
    return 0;
}
