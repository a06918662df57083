#include "scene/panel_scene.h"

#include <QCoreApplication>
#include <QFont>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <cstring>
#include <vtkActor2D.h>
#include <vtkImageMapper.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <vtkActor.h>
#include <vtkActor2D.h>
#include <vtkCellArray.h>
#include <vtkCubeAxesActor.h>
#include <vtkFloatArray.h>
#include <vtkImageActor.h>
#include <vtkImageData.h>
#include <vtkImageMapper3D.h>
#include <vtkImageProperty.h>
#include <vtkLookupTable.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkSmartPointer.h>
#include <vtkTextProperty.h>
#include <vtkUnsignedCharArray.h>

#include "engine/kde.h"
#include "measure/measure.h"
#include "scene/colormap.h"
#include "scene/point_cloud_layer.h"
#include "scene/text_overlay.h"
#include "util/error.h"

namespace tl::ui {

const char* colorModeName(ColorMode m) {
    switch (m) {
    case ColorMode::Uniform: return "one colour";
    case ColorMode::SourcePosition: return "starting position";
    case ColorMode::Speed: return "speed";
    case ColorMode::Label: return "source component";
    }
    return "?";
}

// layerOptionsFromText: scene/layers.cpp (from the layer table).

namespace {

const QColor kParticleColor(86, 160, 240);
const QColor kEllipseColors[2] = {QColor(255, 236, 120), QColor(120, 240, 230)};
constexpr Colormap kSpeedMap = Colormap::Viridis;
constexpr Colormap kDensityMap = Colormap::Inferno;
constexpr int kDensityCells = 160;

// A polyline/line-segment prop with per-vertex RGBA colours.
struct LineProp {
    vtkNew<vtkPoints> points;
    vtkNew<vtkCellArray> lines;
    vtkNew<vtkUnsignedCharArray> colors;
    vtkNew<vtkPolyData> poly;
    vtkNew<vtkPolyDataMapper> mapper;
    vtkNew<vtkActor> actor;
    LineProp() {
        colors->SetNumberOfComponents(4);
        poly->SetPoints(points);
        poly->SetLines(lines);
        poly->GetPointData()->SetScalars(colors);
        mapper->SetInputData(poly);
        mapper->SetColorModeToDirectScalars();
        mapper->SetScalarModeToUsePointData();
        actor->SetMapper(mapper);
        actor->GetProperty()->LightingOff();
    }
    void clear() {
        points->Reset();
        lines->Reset();
        colors->Reset();
    }
    vtkIdType add(double x, double y, double z, const QColor& c, int alpha) {
        const unsigned char rgba[4] = {static_cast<unsigned char>(c.red()), static_cast<unsigned char>(c.green()),
                                       static_cast<unsigned char>(c.blue()), static_cast<unsigned char>(std::clamp(alpha, 0, 255))};
        colors->InsertNextTypedTuple(rgba);
        return points->InsertNextPoint(x, y, z);
    }
    void done() {
        points->Modified();
        lines->Modified();
        colors->Modified();
        poly->Modified();
    }
};

void xyz(const Frame& f, std::size_t i, double p[3]) {
    for (int k = 0; k < 3; ++k) p[k] = k < f.dim ? f.positions[i * f.dim + k] : 0.0;
}

void growBounds(double b[6], const double* pts, std::size_t n, int dim) {
    for (std::size_t i = 0; i < n; ++i)
        for (int k = 0; k < 3; ++k) {
            const double v = k < dim ? pts[i * dim + k] : 0.0;
            if (!std::isfinite(v)) continue;
            b[2 * k] = std::min(b[2 * k], v);
            b[2 * k + 1] = std::max(b[2 * k + 1], v);
        }
}

}  // namespace

std::vector<double> frameVelocities(const std::vector<FramePtr>& frames, std::size_t k) {
    if (k >= frames.size() || !frames[k]) return {};
    const Frame& f = *frames[k];
    if (!f.velocities.empty()) return f.velocities;
    if (frames.size() < 2) return std::vector<double>(f.positions.size(), 0.0);
    const std::size_t a = k == 0 ? 0 : k - 1, b = std::min(frames.size() - 1, k + 1);
    const Frame& fa = *frames[a];
    const Frame& fb = *frames[b];
    const double dt = fb.t - fa.t;
    if (!(dt > 0) || fa.positions.size() != fb.positions.size()) return std::vector<double>(f.positions.size(), 0.0);
    std::vector<double> v(f.positions.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = (fb.positions[i] - fa.positions[i]) / dt;
    return v;
}

struct PanelScene::Impl {
    vtkSmartPointer<vtkRenderer> renderer;
    double dpr = 1;
    double fontScale = 1;
    LayerOptions opt;
    PointCloudLayer particles, target;
    TextOverlay title{QString(), TextOverlay::Anchor::TopCenter};
    TextOverlay status{QString(), TextOverlay::Anchor::BottomLeft};
    TextOverlay legend{QString(), TextOverlay::Anchor::BottomRight};
    LineProp trajectories, glyphs, ellipses;
    vtkNew<vtkActor> sphereActor;  // the translucent unit sphere under tokens that live on it
    vtkNew<vtkImageData> densityImage;
    vtkNew<vtkImageActor> densityActor;
    vtkNew<vtkLookupTable> lut;
    vtkNew<vtkScalarBarActor> colorBar;
    vtkNew<vtkCubeAxesActor> axes;  // ticks and labels around the data bounds
    std::vector<float> density;
    int densityNx = 0, densityNy = 0;
    float ownPeak = 0;                // the shown density's own peak
    ColorRanges ranges;               // shared across panels (0: this panel's own)
    std::vector<double> lastSpeed;    // per particle, for recolouring when the shared range moves
    // The colour key of the particle colouring (a QPainter image in the lower left corner): the source
    // coloured by starting position, or the components' / clusters' swatches.
    vtkNew<vtkImageData> keyImage;
    vtkNew<vtkImageMapper> keyMapper;
    vtkNew<vtkActor2D> keyActor;
    QString keyState;                 // what the key shows (repainted only when it changes)

    std::shared_ptr<const Measure> sourceMeasure, targetMeasure;
    // Per-run cache (keyed by the run's first frame).
    const Frame* runKey = nullptr;
    std::size_t runFrames = 0;
    std::vector<std::uint8_t> positionRgb, labelRgb;
    double bounds[6] = {0, 0, 0, 0, 0, 0};
    bool haveBounds = false;
    double maxSpeed = 0;
    std::vector<FramePtr> run;
    FramePtr shown;
    double t = 0;
    std::vector<unsigned char> colorsInUse;
    int dim = 2;
    bool dirty = true;

    Impl(vtkRenderer* r, double ratio) : renderer(r), dpr(ratio) {
        target.setColor(targetColor());
        target.setOpacity(0.4);
        particles.setColor(kParticleColor);
        title.setFontSize(16);
        title.setBold(true);
        status.setFontSize(11);
        status.setColor(QColor(200, 204, 214));
        legend.setFontSize(10);
        legend.setColor(kEllipseColors[0]);
        for (LineProp* p : {&trajectories, &glyphs, &ellipses}) r->AddActor(p->actor);
        trajectories.actor->GetProperty()->SetLineWidth(static_cast<float>(1.2 * dpr));
        glyphs.actor->GetProperty()->SetLineWidth(static_cast<float>(1.4 * dpr));
        ellipses.actor->GetProperty()->SetLineWidth(static_cast<float>(2.2 * dpr));
        buildUnitSphere();
        densityImage->SetDimensions(2, 2, 1);
        densityImage->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
        densityActor->SetInputData(densityImage);
        densityActor->InterpolateOn();
        densityActor->SetVisibility(0);
        r->AddActor(densityActor);
        target.attach(r);
        particles.attach(r);
        title.attach(r);
        status.attach(r);
        legend.attach(r);
        colorBar->SetLookupTable(lut);
        colorBar->SetNumberOfLabels(3);
        colorBar->SetBarRatio(0.25);
        colorBar->SetPosition(0.9, 0.12);
        colorBar->SetWidth(0.08);
        colorBar->SetHeight(0.55);
        colorBar->SetLabelFormat("%.2g");
        colorBar->UnconstrainedFontSizeOn();
        colorBar->SetVisibility(0);
        r->AddActor2D(colorBar);
        axes->SetFlyModeToOuterEdges();
        axes->SetTickLocationToOutside();
        axes->SetXTitle("x");
        axes->SetYTitle("y");
        axes->SetZTitle("z");
        for (int k = 0; k < 3; ++k) {
            axes->GetTitleTextProperty(k)->SetColor(0.62, 0.64, 0.7);
            axes->GetLabelTextProperty(k)->SetColor(0.62, 0.64, 0.7);
        }
        for (vtkProperty* lp : {axes->GetXAxesLinesProperty(), axes->GetYAxesLinesProperty(), axes->GetZAxesLinesProperty()}) lp->SetColor(0.42, 0.44, 0.5);
        axes->XAxisMinorTickVisibilityOff();
        axes->YAxisMinorTickVisibilityOff();
        axes->ZAxisMinorTickVisibilityOff();
        axes->SetScreenSize(9.0 * dpr);
        axes->SetLabelOffset(6.0 * dpr);
        axes->SetTitleOffset(10.0 * dpr);
        axes->SetVisibility(0);
        r->AddActor(axes);
        keyMapper->SetInputData(keyImage);
        keyMapper->SetColorWindow(255);
        keyMapper->SetColorLevel(127.5);
        keyActor->SetMapper(keyMapper);
        keyActor->SetVisibility(0);
        r->AddActor2D(keyActor);
        applySizes();
    }
    // A latitude-longitude triangle mesh of the unit sphere, translucent, drawn behind the tokens.
    void buildUnitSphere() {
        const int nu = 48, nv = 24;
        vtkNew<vtkPoints> pts;
        vtkNew<vtkCellArray> tris;
        for (int j = 0; j <= nv; ++j)
            for (int i = 0; i < nu; ++i) {
                const double th = M_PI * j / nv, ph = 2 * M_PI * i / nu;
                pts->InsertNextPoint(std::sin(th) * std::cos(ph), std::sin(th) * std::sin(ph), std::cos(th));
            }
        for (int j = 0; j < nv; ++j)
            for (int i = 0; i < nu; ++i) {
                const vtkIdType a = j * nu + i, b = j * nu + (i + 1) % nu, c = (j + 1) * nu + i, d = (j + 1) * nu + (i + 1) % nu;
                const vtkIdType t1[3] = {a, c, b}, t2[3] = {b, c, d};
                tris->InsertNextCell(3, t1);
                tris->InsertNextCell(3, t2);
            }
        vtkNew<vtkPolyData> poly;
        poly->SetPoints(pts);
        poly->SetPolys(tris);
        vtkNew<vtkPolyDataMapper> mapper;
        mapper->SetInputData(poly);
        sphereActor->SetMapper(mapper);
        sphereActor->GetProperty()->SetColor(0.45, 0.55, 0.75);
        sphereActor->GetProperty()->SetOpacity(0.12);
        sphereActor->GetProperty()->SetRepresentationToWireframe();
        sphereActor->GetProperty()->SetLineWidth(static_cast<float>(0.6 * dpr));
        sphereActor->SetVisibility(0);
        renderer->AddActor(sphereActor);
    }

    ~Impl() {
        renderer->RemoveActor(sphereActor);
        for (LineProp* p : {&trajectories, &glyphs, &ellipses}) renderer->RemoveActor(p->actor);
        renderer->RemoveActor(densityActor);
        renderer->RemoveActor2D(colorBar);
        renderer->RemoveActor2D(keyActor);
        renderer->RemoveActor(axes);
    }

    void applySizes() {
        particles.setPointSize(opt.pointSize * dpr);
        target.setPointSize(std::max(2.0, 0.8 * opt.pointSize) * dpr);
        title.setFontSize(static_cast<int>(std::lround(16 * fontScale)));
        status.setFontSize(static_cast<int>(std::lround(11 * fontScale)));
        legend.setFontSize(static_cast<int>(std::lround(10 * fontScale)));
        for (vtkTextProperty* tp : {colorBar->GetLabelTextProperty(), colorBar->GetTitleTextProperty()}) {
            tp->SetColor(0.85, 0.87, 0.9);
            tp->SetFontSize(static_cast<int>(std::lround(11 * fontScale * dpr)));
            tp->ShadowOff();
            tp->ItalicOff();
            tp->BoldOff();
        }
    }

    void updateRunCache(const std::vector<FramePtr>& frames) {
        if (frames.empty() || !frames.front()) return;
        const Frame& f0 = *frames.front();
        if (runKey != &f0) {
            runKey = &f0;
            runFrames = 0;
            dim = f0.dim;
            positionRgb = positionColors(f0.positions, f0.dim);
            const GaussianMixture* law = (sourceMeasure && sourceMeasure->law) ? &*sourceMeasure->law : nullptr;
            const auto labels = mixtureLabels(f0.positions, f0.dim, law);
            labelRgb.assign(3 * labels.size(), 0);
            for (std::size_t i = 0; i < labels.size(); ++i) {
                const QColor c = law && law->components.size() > 1 ? componentColor(labels[i]) : kParticleColor;
                labelRgb[3 * i] = static_cast<std::uint8_t>(c.red());
                labelRgb[3 * i + 1] = static_cast<std::uint8_t>(c.green());
                labelRgb[3 * i + 2] = static_cast<std::uint8_t>(c.blue());
            }
        }
        if (runFrames == frames.size()) return;
        runFrames = frames.size();
        // Bounds over the target and every frame so far (the grid and camera stay put while playing).
        double b[6] = {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                       std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                       std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
        if (targetMeasure) growBounds(b, targetMeasure->cloud.points.data(), targetMeasure->cloud.size(), targetMeasure->cloud.dim);
        maxSpeed = 0;
        for (std::size_t k = 0; k < frames.size(); ++k) {
            growBounds(b, frames[k]->positions.data(), frames[k]->rows(), frames[k]->dim);
            if (frames[k]->density) growGridBounds(b, *frames[k]->density);
            if (frames[k]->onUnitSphere) {
                const double box[6] = {-1, -1, -1, 1, 1, 1};
                growBounds(b, box, 2, 3);
            }
            for (const MarkerOverlay& m : frames[k]->markers) growBounds(b, m.points.data(), m.points.size() / std::max(1, m.dim), m.dim);
            if (k + 1 < frames.size() || frames.size() == 1) {
                const auto v = frameVelocities(frames, k);
                for (std::size_t i = 0; i + 1 <= frames[k]->rows(); ++i) {
                    double s = 0;
                    for (int c = 0; c < frames[k]->dim; ++c) s += v[i * frames[k]->dim + c] * v[i * frames[k]->dim + c];
                    if (std::isfinite(s)) maxSpeed = std::max(maxSpeed, std::sqrt(s));
                }
            }
        }
        if (b[0] <= b[1]) {
            std::copy(b, b + 6, bounds);
            haveBounds = true;
        }
    }

    void showParticles(const Frame& f, const std::vector<double>& velocity) {
        particles.setPoints(f.positions.data(), f.rows(), f.dim);
        particles.setPointStyle(f.dim == 3 ? PointCloudLayer::PointStyle::Sphere : PointCloudLayer::PointStyle::Disc);
        particles.setVisible(opt.particles);
        colorsInUse.clear();
        switch (opt.color) {
        case ColorMode::Uniform: break;
        case ColorMode::SourcePosition:
            if (positionRgb.size() == 3 * f.rows()) colorsInUse = positionRgb;
            break;
        case ColorMode::Label:
            if (f.labels.size() == f.rows() && !f.labels.empty()) {  // per-frame labels (token clusters)
                colorsInUse.resize(3 * f.rows());
                for (std::size_t i = 0; i < f.rows(); ++i) {
                    const QColor c = componentColor(f.labels[i]);
                    colorsInUse[3 * i] = static_cast<std::uint8_t>(c.red());
                    colorsInUse[3 * i + 1] = static_cast<std::uint8_t>(c.green());
                    colorsInUse[3 * i + 2] = static_cast<std::uint8_t>(c.blue());
                }
            } else if (labelRgb.size() == 3 * f.rows()) {
                colorsInUse = labelRgb;
            }
            break;
        case ColorMode::Speed: {
            std::vector<double> speed(f.rows(), 0.0);
            for (std::size_t i = 0; i < f.rows() && velocity.size() == f.positions.size(); ++i) {
                double s = 0;
                for (int c = 0; c < f.dim; ++c) s += velocity[i * f.dim + c] * velocity[i * f.dim + c];
                speed[i] = std::sqrt(s);
            }
            lastSpeed = speed;
            colorsInUse = scalarColors(speed, 0.0, speedHi(), kSpeedMap);
            break;
        }
        }
        if (colorsInUse.empty()) particles.clearColors();
        else particles.setColors(colorsInUse);
        if (opt.color != ColorMode::Speed) lastSpeed.clear();
    }

    QColor particleColor(std::size_t i) const {
        if (colorsInUse.size() >= 3 * (i + 1)) return QColor(colorsInUse[3 * i], colorsInUse[3 * i + 1], colorsInUse[3 * i + 2]);
        return kParticleColor;
    }

    void showTrajectories(const std::vector<FramePtr>& frames, std::size_t k) {
        trajectories.clear();
        trajectories.actor->SetVisibility(opt.trajectories && k > 0);
        if (!opt.trajectories || k == 0) return trajectories.done();
        const std::size_t n = frames[k]->rows();
        const std::size_t paths = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, opt.maxTrajectories)));
        const double stride = static_cast<double>(n) / static_cast<double>(paths);
        double p[3];
        for (std::size_t q = 0; q < paths; ++q) {
            const std::size_t i = static_cast<std::size_t>(q * stride);
            const QColor c = particleColor(i);
            std::vector<vtkIdType> ids;
            ids.reserve(k + 1);
            for (std::size_t s = 0; s <= k; ++s) {
                if (frames[s]->rows() != n) break;
                xyz(*frames[s], i, p);
                // Older segments fade out: alpha grows with the frame's age rank.
                const double age = static_cast<double>(s) / static_cast<double>(k);
                ids.push_back(trajectories.add(p[0], p[1], p[2], c, static_cast<int>(255 * (0.1 + 0.65 * age * std::sqrt(age)))));
            }
            if (ids.size() >= 2) trajectories.lines->InsertNextCell(static_cast<vtkIdType>(ids.size()), ids.data());
        }
        trajectories.done();
    }

    // One arrow from (x, y, z) along v (already scaled to its drawn length), with a two-barb head.
    void arrow(const double o[3], const double vs[3], double cell, const QColor& c) {
        const double len = std::sqrt(vs[0] * vs[0] + vs[1] * vs[1] + vs[2] * vs[2]);
        if (!(len > 0.04 * cell)) return;
        double tip[3], tail[3], u[3];
        for (int a = 0; a < 3; ++a) {
            u[a] = vs[a] / len;
            tip[a] = o[a] + 0.5 * vs[a];
            tail[a] = o[a] - 0.5 * vs[a];
        }
        double perp[3] = {-u[1], u[0], 0};
        if (std::hypot(perp[0], perp[1]) < 1e-6) perp[0] = 1, perp[1] = 0, perp[2] = 0;
        const double hd = std::min(0.35 * len, 0.3 * cell);
        const int alpha = 215;
        const vtkIdType a0 = glyphs.add(tail[0], tail[1], tail[2], c, alpha), a1 = glyphs.add(tip[0], tip[1], tip[2], c, alpha);
        const vtkIdType seg[2] = {a0, a1};
        glyphs.lines->InsertNextCell(2, seg);
        for (int sgn : {-1, 1}) {
            const vtkIdType barb[2] = {a1, glyphs.add(tip[0] - hd * (0.88 * u[0] + sgn * 0.47 * perp[0]), tip[1] - hd * (0.88 * u[1] + sgn * 0.47 * perp[1]),
                                                      tip[2] - hd * (0.88 * u[2] + sgn * 0.47 * perp[2]), c, alpha)};
            glyphs.lines->InsertNextCell(2, barb);
        }
    }

    // A grid frame's own velocity field (Eulerian dynamics): arrows on every k-th cell where the
    // density is visible, scaled so the fastest arrow spans one arrow cell.
    void showGridGlyphs(const DensityGrid& g) {
        const int n = g.cells, stride = std::max(1, n / 22);
        double peak = 0, vmax = 0;
        for (std::size_t c = 0; c < g.values.size(); ++c) {
            peak = std::max(peak, g.values[c]);
            if (g.values[c] > 0) vmax = std::max(vmax, std::hypot(g.vx[c], g.vy[c]));
        }
        const double cell = stride * g.h();
        const double scale = vmax > 0 ? 0.95 * cell / vmax : 0.0;
        const QColor c(235, 238, 245);
        for (int iy = stride / 2; iy < n; iy += stride)
            for (int ix = stride / 2; ix < n; ix += stride) {
                const std::size_t k = static_cast<std::size_t>(iy) * n + ix;
                if (g.values[k] < 0.02 * peak) continue;
                const double o[3] = {g.center(ix), g.center(iy), 0}, vs[3] = {g.vx[k] * scale, g.vy[k] * scale, 0};
                arrow(o, vs, cell, c);
            }
    }

    void showGlyphs(const Frame& f, const std::vector<double>& velocity) {
        glyphs.clear();
        if (f.density && !f.density->vx.empty() && f.rows() == 0) {
            glyphs.actor->SetVisibility(opt.glyphs);
            if (opt.glyphs) showGridGlyphs(*f.density);
            return glyphs.done();
        }
        glyphs.actor->SetVisibility(opt.glyphs && haveBounds);
        if (!opt.glyphs || !haveBounds || velocity.size() != f.positions.size()) return glyphs.done();
        const int d = f.dim;
        // Cells: 22 along the longest 2-D side (8 per axis in 3-D); mass-weighted mean velocity per cell.
        const double ex = bounds[1] - bounds[0], ey = bounds[3] - bounds[2], ez = bounds[5] - bounds[4];
        const double longest = std::max({ex, ey, d == 3 ? ez : 0.0, 1e-12});
        const double cell = longest / (d == 3 ? 8.0 : 22.0);
        const int nx = std::max(1, static_cast<int>(std::ceil(ex / cell))), ny = d >= 2 ? std::max(1, static_cast<int>(std::ceil(ey / cell))) : 1,
                  nz = d == 3 ? std::max(1, static_cast<int>(std::ceil(ez / cell))) : 1;
        const std::size_t cells = static_cast<std::size_t>(nx) * ny * nz;
        std::vector<double> mass(cells, 0.0), vsum(cells * 3, 0.0);
        for (std::size_t i = 0; i < f.rows(); ++i) {
            double p[3];
            xyz(f, i, p);
            const int cx = std::clamp(static_cast<int>((p[0] - bounds[0]) / cell), 0, nx - 1);
            const int cy = std::clamp(static_cast<int>((p[1] - bounds[2]) / cell), 0, ny - 1);
            const int cz = std::clamp(static_cast<int>((p[2] - bounds[4]) / cell), 0, nz - 1);
            const std::size_t c = (static_cast<std::size_t>(cz) * ny + cy) * nx + cx;
            mass[c] += f.weights[i];
            for (int k = 0; k < d; ++k) vsum[3 * c + k] += f.weights[i] * velocity[i * d + k];
        }
        const double scale = maxSpeed > 0 ? 0.95 * cell / maxSpeed : 0.0;
        const QColor c(235, 238, 245);
        const double minMass = 0.15 / static_cast<double>(cells);
        for (int z = 0; z < nz; ++z)
            for (int y = 0; y < ny; ++y)
                for (int x = 0; x < nx; ++x) {
                    const std::size_t k = (static_cast<std::size_t>(z) * ny + y) * nx + x;
                    if (mass[k] < minMass) continue;
                    const double o[3] = {bounds[0] + (x + 0.5) * cell, d >= 2 ? bounds[2] + (y + 0.5) * cell : 0.0,
                                         d == 3 ? bounds[4] + (z + 0.5) * cell : 0.0};
                    const double vs[3] = {vsum[3 * k] / mass[k] * scale, vsum[3 * k + 1] / mass[k] * scale, vsum[3 * k + 2] / mass[k] * scale};
                    arrow(o, vs, cell, c);
                }
        glyphs.done();
    }

    void showEllipses(const Frame& f) {
        ellipses.clear();
        QString labels;
        const bool on = opt.overlays && !f.overlays.empty();
        ellipses.actor->SetVisibility(on);
        if (on) {
            for (std::size_t o = 0; o < f.overlays.size(); ++o) {
                const GaussianOverlay& g = f.overlays[o];
                const int d = static_cast<int>(g.mean.size());
                if (d < 1 || d > 3 || g.cov.rows() != d || !g.mean.allFinite() || !g.cov.allFinite()) continue;
                const QColor c = kEllipseColors[o % 2];
                labels += QString("%1%2 (2\u03C3)").arg(labels.isEmpty() ? "" : "\n").arg(QString::fromStdString(g.label));
                Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(g.cov);
                const Eigen::VectorXd lam = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
                const Eigen::MatrixXd& V = es.eigenvectors();
                // 2-sigma ellipse in every principal plane (one in 2-D, three in 3-D, a segment in 1-D).
                std::vector<std::pair<int, int>> planes;
                if (d == 1) planes = {{0, 0}};
                else if (d == 2) planes = {{0, 1}};
                else planes = {{0, 1}, {1, 2}, {0, 2}};
                for (auto [a, b] : planes) {
                    const int m = 97;
                    std::vector<vtkIdType> ids;
                    for (int s = 0; s < m; ++s) {
                        const double th = 2 * M_PI * s / (m - 1);
                        Eigen::VectorXd p = g.mean + 2.0 * lam(a) * std::cos(th) * V.col(a);
                        if (b != a) p += 2.0 * lam(b) * std::sin(th) * V.col(b);
                        ids.push_back(ellipses.add(p(0), d > 1 ? p(1) : 0.0, d > 2 ? p(2) : 0.0, c, 235));
                    }
                    ellipses.lines->InsertNextCell(static_cast<vtkIdType>(ids.size()), ids.data());
                }
            }
        }
        // Markers (e.g. a teacher network's neurons): a cross per point, 4% of the data's extent.
        const double extent = haveBounds ? std::max({bounds[1] - bounds[0], bounds[3] - bounds[2], bounds[5] - bounds[4], 1e-9}) : 1.0;
        for (const MarkerOverlay& m : f.markers) {
            // faint: many observed points (snapshots), small and translucent; else a few bold crosses
            const double arm = (m.faint ? 0.006 : 0.04) * extent;
            const QColor mc = m.faint ? targetColor() : QColor(255, 255, 255);
            const int alpha = m.faint ? 110 : 255;
            if (m.dim < 1 || m.dim > 3) continue;
            const std::size_t rows = m.points.size() / static_cast<std::size_t>(m.dim);
            for (std::size_t i = 0; i < rows; ++i) {
                double p[3] = {0, 0, 0};
                bool finite = true;
                for (int k = 0; k < m.dim; ++k) {
                    p[k] = m.points[i * m.dim + k];
                    finite = finite && std::isfinite(p[k]);
                }
                if (!finite) continue;
                for (int axis = 0; axis < std::max(2, m.dim); ++axis) {
                    double a[3] = {p[0], p[1], p[2]}, b[3] = {p[0], p[1], p[2]};
                    a[axis] -= arm;
                    b[axis] += arm;
                    const vtkIdType seg[2] = {ellipses.add(a[0], a[1], a[2], mc, alpha), ellipses.add(b[0], b[1], b[2], mc, alpha)};
                    ellipses.lines->InsertNextCell(2, seg);
                }
            }
            if (rows) labels += QString("%1%2 (+)").arg(labels.isEmpty() ? "" : "\n").arg(QString::fromStdString(m.label));
        }
        if (!f.markers.empty()) ellipses.actor->SetVisibility(true);
        legend.setText(labels);
        ellipses.done();
        sphereActor->SetVisibility(f.onUnitSphere && f.dim == 3);
    }

    // The part of a grid density above 1e-3 of its peak (the camera frames the mass, not the domain).
    static void growGridBounds(double b[6], const DensityGrid& g) {
        if (g.values.empty()) return;
        const double peak = *std::max_element(g.values.begin(), g.values.end());
        if (!(peak > 0)) return;
        for (int iy = 0; iy < g.cells; ++iy)
            for (int ix = 0; ix < g.cells; ++ix)
                if (g.values[static_cast<std::size_t>(iy) * g.cells + ix] > 1e-3 * peak) {
                    const double p[6] = {g.center(ix) - 0.5 * g.h(), g.center(iy) - 0.5 * g.h(), 0, g.center(ix) + 0.5 * g.h(), g.center(iy) + 0.5 * g.h(), 0};
                    growBounds(b, p, 2, 3);
                }
    }

    // A grid frame's own density (gradient flows): one image pixel per cell, no smoothing.
    void showGridDensity(const DensityGrid& g) {
        densityNx = densityNy = g.cells;
        density.assign(g.values.begin(), g.values.end());
        const float peak = densityHi();
        densityImage->SetDimensions(g.cells, g.cells, 1);
        densityImage->SetSpacing(g.h(), g.h(), 1);
        densityImage->SetOrigin(g.center(0), g.center(0), -1e-3 * g.extent);
        densityImage->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
        paintDensity(peak);
    }

    // Colours density[] into densityImage, blended over the background by hand (opaque image):
    // colour = mix(bg, map(rho), alpha(rho)).
    void paintDensity(float peak) {
        auto* px = static_cast<unsigned char*>(densityImage->GetScalarPointer());
        double bg[3];
        renderer->GetBackground(bg);
        for (std::size_t i = 0; i < density.size(); ++i) {
            const double s = std::min(1.0, std::sqrt(static_cast<double>(std::max(0.0f, density[i])) / peak));  // sqrt: the tails stay visible
            const auto c = colormapRgb(kDensityMap, 0.15 + 0.85 * s);
            const double a = std::clamp(1.6 * s, 0.0, 0.92);
            for (int k = 0; k < 3; ++k) px[3 * i + k] = static_cast<unsigned char>(std::lround((1 - a) * 255 * bg[k] + a * c[k]));
        }
        densityImage->Modified();
        densityActor->Modified();
    }

    void showDensity(const Frame& f) {
        // Grid frames always show their density when they have no particles (it is all they have).
        if (f.density && (opt.density || f.rows() == 0)) {
            densityActor->SetVisibility(true);
            return showGridDensity(*f.density);
        }
        const bool on = opt.density && haveBounds && f.dim <= 2 && f.rows() > 0;
        densityActor->SetVisibility(on);
        if (!on) return;
        const double padX = 0.04 * (bounds[1] - bounds[0]) + 1e-9, padY = 0.04 * (bounds[3] - bounds[2]) + 1e-9;
        const double x0 = bounds[0] - padX, x1 = bounds[1] + padX, y0 = bounds[2] - padY, y1 = bounds[3] + padY;
        const double aspect = (y1 - y0) / (x1 - x0);
        densityNx = kDensityCells;
        densityNy = std::clamp(static_cast<int>(std::lround(kDensityCells * aspect)), 8, 4 * kDensityCells);
        density = kdeGrid(f, x0, x1, y0, y1, densityNx, densityNy);
        const float peak = densityHi();
        densityImage->SetDimensions(densityNx, densityNy, 1);
        densityImage->SetSpacing((x1 - x0) / densityNx, (y1 - y0) / densityNy, 1);
        // Pixel centres at cell centres; slightly behind the points.
        densityImage->SetOrigin(x0 + 0.5 * (x1 - x0) / densityNx, y0 + 0.5 * (y1 - y0) / densityNy, -1e-3 * (x1 - x0));
        densityImage->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
        paintDensity(peak);
    }

    double speedHi() const { return ranges.speed > 0 ? ranges.speed : (maxSpeed > 0 ? maxSpeed : 1.0); }
    // The density's colour range: the shared one, else the shown grid's own peak (kept in ownPeak).
    float densityHi() {
        ownPeak = density.empty() ? 0.0f : *std::max_element(density.begin(), density.end());
        return static_cast<float>(ranges.density > 0 ? ranges.density : std::max(1e-30f, ownPeak));
    }

    // The colour key: what a colour means in the current mode (none for uniform and speed: the colour
    // bar is the speed's key). Painted with QPainter, shown by a 2-D image actor.
    void showColorKey(const Frame& f) {
        QString state;
        const bool sourcePos = opt.particles && opt.color == ColorMode::SourcePosition && f.dim == 2 && positionRgb.size() == 3 * f.rows() && run.size() > 0;
        int components = 0;
        bool clusters = false;
        if (opt.particles && opt.color == ColorMode::Label) {
            if (!f.labels.empty()) {
                clusters = true;
                components = *std::max_element(f.labels.begin(), f.labels.end()) + 1;
            } else if (sourceMeasure && sourceMeasure->law && sourceMeasure->law->components.size() > 1) {
                components = static_cast<int>(sourceMeasure->law->components.size());
            }
        }
        if (sourcePos) state = QString("position %1 %2").arg(reinterpret_cast<quintptr>(run.front().get())).arg(fontScale);
        else if (components > 0) state = QString("labels %1 %2 %3").arg(components).arg(clusters).arg(fontScale);
        if (state == keyState) return;
        keyState = state;
        keyActor->SetVisibility(!state.isEmpty());
        if (state.isEmpty()) return;
        double bg[3];
        renderer->GetBackground(bg);
        const QColor back = QColor::fromRgbF(bg[0], bg[1], bg[2]);
        const double u = fontScale * dpr;
        // Text needs fonts, fonts need a QGuiApplication (the CLI's render may run without one): then
        // the key is drawn without its words.
        const bool text = qobject_cast<QGuiApplication*>(QCoreApplication::instance()) != nullptr;
        QImage img;
        if (sourcePos) {
            // The source sample itself, coloured as the particles are: "this colour started here".
            const int side = static_cast<int>(std::lround(84 * u)), cap = static_cast<int>(std::lround(14 * u));
            img = QImage(side, side + cap, QImage::Format_RGB888);
            img.fill(back);
            QPainter p(&img);
            p.setRenderHint(QPainter::Antialiasing);
            const Frame& f0 = *run.front();
            double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
            for (std::size_t i = 0; i < f0.rows(); ++i)
                for (int k = 0; k < 2; ++k) {
                    lo[k] = std::min(lo[k], f0.positions[2 * i + k]);
                    hi[k] = std::max(hi[k], f0.positions[2 * i + k]);
                }
            const double span = std::max({hi[0] - lo[0], hi[1] - lo[1], 1e-12});
            const double pad = 4 * u, scale = (side - 2 * pad) / span;
            p.setPen(Qt::NoPen);
            for (std::size_t i = 0; i < f0.rows(); ++i) {
                const double x = pad + (f0.positions[2 * i] - 0.5 * (lo[0] + hi[0])) * scale + 0.5 * (side - 2 * pad);
                const double y = side - (pad + (f0.positions[2 * i + 1] - 0.5 * (lo[1] + hi[1])) * scale + 0.5 * (side - 2 * pad));
                p.setBrush(QColor(positionRgb[3 * i], positionRgb[3 * i + 1], positionRgb[3 * i + 2]));
                p.drawEllipse(QPointF(x, y), 1.3 * u, 1.3 * u);
            }
            if (text) {
                p.setPen(QColor(200, 204, 214));
                QFont font = p.font();
                font.setPixelSize(static_cast<int>(std::lround(10 * u)));
                p.setFont(font);
                p.drawText(QRect(0, side, side, cap), Qt::AlignCenter, "colour = start");
            }
        } else {
            const int rows = std::min(components, 8), line = static_cast<int>(std::lround(14 * u));
            const int width = static_cast<int>(std::lround(96 * u));
            img = QImage(width, line * (rows + (components > rows ? 1 : 0)), QImage::Format_RGB888);
            img.fill(back);
            QPainter p(&img);
            if (text) {
                QFont font = p.font();
                font.setPixelSize(static_cast<int>(std::lround(10 * u)));
                p.setFont(font);
            }
            for (int k = 0; k < rows; ++k) {
                p.fillRect(QRectF(2 * u, k * line + 3 * u, 9 * u, 9 * u), componentColor(k));
                if (!text) continue;
                p.setPen(QColor(200, 204, 214));
                p.drawText(QRectF(15 * u, k * line, width - 15 * u, line), Qt::AlignVCenter, QString("%1 %2").arg(clusters ? "cluster" : "component").arg(k + 1));
            }
            if (components > rows && text) {
                p.setPen(QColor(200, 204, 214));
                p.drawText(QRectF(15 * u, rows * line, width - 15 * u, line), Qt::AlignVCenter, QString("\u2026 %1 in all").arg(components));
            }
        }
        // Into the VTK image: bottom row first.
        keyImage->SetDimensions(img.width(), img.height(), 1);
        keyImage->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
        auto* px = static_cast<unsigned char*>(keyImage->GetScalarPointer());
        for (int y = 0; y < img.height(); ++y)
            std::memcpy(px + static_cast<std::size_t>(y) * img.width() * 3, img.constScanLine(img.height() - 1 - y), static_cast<std::size_t>(img.width()) * 3);
        keyImage->Modified();
        keyActor->SetPosition(8 * u, 26 * u);  // above the status line
    }

    // Axes around the run's bounds (what the camera frames), in the view's camera; z only in 3-D.
    void showAxes(const Frame& f) {
        const bool on = opt.axes && haveBounds;
        axes->SetVisibility(on);
        if (!on) return;
        axes->SetCamera(renderer->GetActiveCamera());
        double b[6];
        std::copy(bounds, bounds + 6, b);
        if (f.dim < 3) b[4] = b[5] = 0;
        axes->SetBounds(b);
        axes->SetZAxisVisibility(f.dim == 3);
        axes->SetUse2DMode(f.dim < 3);
    }

    void applyRanges(const ColorRanges& r) {
        if (r.speed == ranges.speed && r.density == ranges.density) return;
        ranges = r;
        if (opt.color == ColorMode::Speed && !lastSpeed.empty() && colorsInUse.size() == 3 * lastSpeed.size()) {
            colorsInUse = scalarColors(lastSpeed, 0.0, speedHi(), kSpeedMap);
            particles.setColors(colorsInUse);
        }
        if (densityActor->GetVisibility() && !density.empty()) paintDensity(densityHi());
        showColorBar();
    }

    void showColorBar() {
        const bool speed = opt.particles && opt.color == ColorMode::Speed;
        // the density actor is visible when the layer is on, or for grid frames (their only content)
        const bool dens = !speed && densityActor->GetVisibility();
        colorBar->SetVisibility(opt.colorBar && (speed || dens));
        if (!(opt.colorBar && (speed || dens))) return;
        const auto table = colormapTable(speed ? kSpeedMap : kDensityMap, 64);
        lut->SetNumberOfTableValues(static_cast<vtkIdType>(table.size()));
        for (std::size_t k = 0; k < table.size(); ++k) {
            const auto& c = speed ? table[k] : colormapRgb(kDensityMap, 0.15 + 0.85 * std::sqrt(static_cast<double>(k) / (table.size() - 1)));
            lut->SetTableValue(static_cast<vtkIdType>(k), c[0] / 255.0, c[1] / 255.0, c[2] / 255.0, 1.0);
        }
        const double hi = speed ? speedHi() : (density.empty() ? 1.0 : densityHi());
        lut->SetRange(0.0, hi);
        lut->Build();
        colorBar->SetTitle(speed ? "speed" : "density");
        colorBar->Modified();
    }
};

PanelScene::PanelScene(vtkRenderer* renderer, double pixelRatio) : d_(std::make_unique<Impl>(renderer, pixelRatio)) {}
PanelScene::~PanelScene() = default;

void PanelScene::setTitle(const QString& title) { d_->title.setText(title); }
void PanelScene::setStatus(const QString& status) { d_->status.setText(status); }
void PanelScene::setFontScale(double scale) {
    d_->fontScale = std::clamp(scale, 0.3, 6.0);
    d_->applySizes();
}

void PanelScene::setOptions(const LayerOptions& options) {
    if (options == d_->opt) return;
    d_->opt = options;
    d_->applySizes();
    d_->target.setVisible(options.target);
    d_->dirty = true;
    if (!d_->run.empty()) {
        const auto run = d_->run;
        show(run, d_->t);
    }
}

const LayerOptions& PanelScene::options() const { return d_->opt; }

void PanelScene::setTarget(std::shared_ptr<const Measure> target) {
    d_->targetMeasure = std::move(target);
    if (d_->targetMeasure) {
        d_->target.setPoints(d_->targetMeasure->cloud);
        d_->target.setPointStyle(d_->targetMeasure->cloud.dim == 3 ? PointCloudLayer::PointStyle::Sphere : PointCloudLayer::PointStyle::Disc);
    }
    d_->runFrames = 0;  // bounds include the target
}

void PanelScene::setSource(std::shared_ptr<const Measure> source) {
    d_->sourceMeasure = std::move(source);
    d_->runKey = nullptr;  // labels depend on the source law
}

void PanelScene::resetRun() {
    d_->runKey = nullptr;
    d_->runFrames = 0;
}

FramePtr PanelScene::show(const std::vector<FramePtr>& frames, double t) {
    if (frames.empty()) return d_->shown;
    d_->t = t;
    std::size_t k = 0;
    // The last frame at or before t, with a relative tolerance: a frame time computed as k * duration /
    // (frames - 1) may sit an ulp above the same time computed another way.
    const double tol = 1e-9 * std::max(1.0, std::abs(t));
    while (k + 1 < frames.size() && frames[k + 1]->t <= t + tol) ++k;
    const bool sameRun = !d_->run.empty() && d_->run.front() == frames.front() && d_->run.size() == frames.size();
    if (sameRun && d_->shown == frames[k] && !d_->dirty) return d_->shown;
    d_->run = frames;
    // Per-run colours and bounds: recomputed for a new run, a new source/target, or more frames.
    if (d_->runKey != frames.front().get() || d_->runFrames != frames.size()) d_->updateRunCache(frames);
    d_->dirty = false;
    const Frame& f = *frames[k];
    const bool needVelocity = d_->opt.color == ColorMode::Speed || d_->opt.glyphs;
    const std::vector<double> v = needVelocity ? frameVelocities(frames, k) : std::vector<double>{};
    d_->showParticles(f, v);
    d_->showTrajectories(frames, k);
    d_->showGlyphs(f, v);
    d_->showEllipses(f);
    d_->showDensity(f);
    d_->showColorBar();
    d_->showColorKey(f);
    d_->showAxes(f);
    d_->shown = frames[k];
    return d_->shown;
}

FramePtr PanelScene::shownFrame() const { return d_->shown; }

ColorRanges PanelScene::ownRanges() const {
    ColorRanges r;
    r.speed = d_->opt.color == ColorMode::Speed && d_->opt.particles ? d_->maxSpeed : 0;
    r.density = d_->densityActor->GetVisibility() ? d_->ownPeak : 0;
    return r;
}

void PanelScene::setColorRanges(const ColorRanges& ranges) { d_->applyRanges(ranges); }
ColorRanges PanelScene::colorRanges() const {
    ColorRanges r;
    r.speed = d_->opt.color == ColorMode::Speed && d_->opt.particles ? d_->speedHi() : 0;
    r.density = d_->densityActor->GetVisibility() && !d_->density.empty() ? (d_->ranges.density > 0 ? d_->ranges.density : d_->ownPeak) : 0;
    return r;
}
bool PanelScene::colorKeyShown() const { return d_->keyActor->GetVisibility() != 0; }

ColorRanges shareColorRanges(const std::vector<PanelScene*>& scenes, const ColorRanges& fixed) {
    ColorRanges shared;
    for (const PanelScene* s : scenes) {
        const ColorRanges own = s->ownRanges();
        shared.speed = std::max(shared.speed, own.speed);
        shared.density = std::max(shared.density, own.density);
    }
    if (fixed.speed > 0) shared.speed = fixed.speed;
    if (fixed.density > 0) shared.density = fixed.density;
    for (PanelScene* s : scenes) s->setColorRanges(shared);
    return shared;
}

bool PanelScene::dataBounds(double b[6]) const {
    if (!d_->haveBounds) return false;
    std::copy(d_->bounds, d_->bounds + 6, b);
    return true;
}

int PanelScene::dim() const { return d_->dim; }

const std::vector<unsigned char>& PanelScene::particleColors() const { return d_->colorsInUse; }

const std::vector<float>& PanelScene::densityGrid(int* nx, int* ny) const {
    if (nx) *nx = d_->densityNx;
    if (ny) *ny = d_->densityNy;
    return d_->density;
}

}  // namespace tl::ui
