// PointCloudLayer: shows a tl::PointCloud (d = 1..3; missing coordinates are 0) as round points of one
// colour in a VTK renderer. setPoints() rewrites the coordinates in place: cheap per-frame updates.
#include "scene/point_cloud_layer.h"

#include <algorithm>
#include <string>

#include <vtkActor.h>
#include <vtkCellArray.h>
#include <vtkFloatArray.h>
#include <vtkIdTypeArray.h>
#include <vtkNew.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkOpenGLShaderProperty.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkUniforms.h>
#include <vtkUnsignedCharArray.h>
#include <vtkPointData.h>

#include "measure/point_cloud.h"
#include "shaders/point_disc.frag.h"
#include "util/error.h"

namespace tl::ui {

struct PointCloudLayer::Impl {
    vtkNew<vtkFloatArray> coords;  // n x 3, the buffer setPoints() writes into
    vtkNew<vtkPoints> points;
    vtkNew<vtkCellArray> verts;
    vtkNew<vtkPolyData> polyData;
    vtkNew<vtkPolyDataMapper> mapper;
    vtkNew<vtkActor> actor;
    vtkNew<vtkUnsignedCharArray> colors;  // n x 3, when per-point colours are set
    bool perPoint = false;
    vtkSmartPointer<vtkRenderer> renderer;
    QColor color{88, 166, 255};
    double pointSize = 6.0;
    PointStyle style = PointStyle::Disc;
    int reallocations = 0;

    Impl() {
        coords->SetNumberOfComponents(3);
        points->SetData(coords);
        polyData->SetPoints(points);
        polyData->SetVerts(verts);
        mapper->SetInputData(polyData);
        mapper->ScalarVisibilityOff();
        actor->SetMapper(mapper);
        actor->GetProperty()->SetRepresentationToPoints();
        applyPointStyle();
        applyColorAndSize();
    }

    // Cheap: property values and a uniform, no shader rebuild.
    void applyColorAndSize() {
        vtkProperty* p = actor->GetProperty();
        p->SetColor(color.redF(), color.greenF(), color.blueF());
        p->SetPointSize(static_cast<float>(pointSize));
        actor->GetShaderProperty()->GetFragmentCustomUniforms()->SetUniformf("tlPointDiameter",
                                                                            static_cast<float>(pointSize));
    }

    // Changes the shader: only when the style changes.
    void applyPointStyle() {
        vtkProperty* p = actor->GetProperty();
        auto* sp = vtkOpenGLShaderProperty::SafeDownCast(actor->GetShaderProperty());
        if (!sp) throw Error("point cloud layer: VTK's OpenGL2 module is not initialised");
        sp->ClearAllFragmentShaderReplacements();
        if (style == PointStyle::Disc) {
            p->RenderPointsAsSpheresOff();
            p->LightingOff();  // the colour is exactly the layer colour
            // A pre-replacement that keeps the tag, so VTK still fills it in before our snippet runs.
            sp->AddFragmentShaderReplacement("//VTK::TCoord::Impl", true,
                                             std::string("//VTK::TCoord::Impl\n") + shaders::pointDiscFrag, false);
        } else {
            p->RenderPointsAsSpheresOn();
            p->LightingOn();
            p->SetAmbient(0.25);
            p->SetDiffuse(0.8);
            p->SetSpecular(0.3);
            p->SetSpecularPower(30.0);
        }
    }

    // One poly-vertex cell 0..n-1: rebuilt only when the point count changes.
    void rebuildVerts(vtkIdType n) {
        vtkNew<vtkIdTypeArray> offsets;
        vtkNew<vtkIdTypeArray> connectivity;
        offsets->SetNumberOfValues(n > 0 ? 2 : 1);
        offsets->SetValue(0, 0);
        if (n > 0) offsets->SetValue(1, n);
        connectivity->SetNumberOfValues(n);
        for (vtkIdType i = 0; i < n; ++i) connectivity->SetValue(i, i);
        verts->SetData(offsets, connectivity);
    }
};

PointCloudLayer::PointCloudLayer() : d_(std::make_unique<Impl>()) {}

PointCloudLayer::PointCloudLayer(const PointCloud& cloud) : PointCloudLayer() { setPoints(cloud); }

PointCloudLayer::~PointCloudLayer() { detach(); }

void PointCloudLayer::attach(vtkRenderer* renderer) {
    if (renderer == d_->renderer.Get()) return;
    detach();
    if (!renderer) return;
    d_->renderer = renderer;
    renderer->AddActor(d_->actor);
}

void PointCloudLayer::detach() {
    if (!d_->renderer) return;
    d_->renderer->RemoveActor(d_->actor);
    d_->renderer = nullptr;
}

vtkRenderer* PointCloudLayer::renderer() const { return d_->renderer.Get(); }

void PointCloudLayer::setPoints(const PointCloud& cloud) {
    const int dim = cloud.dim;
    if (dim < 1 || dim > 3) throw Error("point cloud layer: dimension " + std::to_string(dim) + " is not 1, 2 or 3");
    const std::size_t n = cloud.size();
    if (cloud.points.size() != n * static_cast<std::size_t>(dim))
        throw Error("point cloud layer: " + std::to_string(cloud.points.size()) + " coordinates for " +
                    std::to_string(n) + " points in dimension " + std::to_string(dim));

    const auto count = static_cast<vtkIdType>(n);
    if (count != d_->coords->GetNumberOfTuples()) {
        d_->coords->SetNumberOfTuples(count);
        d_->rebuildVerts(count);
        ++d_->reallocations;
        clearColors();  // per-point colours belonged to the old points
    }
    float* out = d_->coords->GetPointer(0);
    const double* in = cloud.points.data();
    for (std::size_t i = 0; i < n; ++i, in += dim, out += 3) {
        out[0] = static_cast<float>(in[0]);
        out[1] = dim > 1 ? static_cast<float>(in[1]) : 0.0f;
        out[2] = dim > 2 ? static_cast<float>(in[2]) : 0.0f;
    }
    d_->coords->Modified();
    d_->points->Modified();
    d_->polyData->Modified();
}

std::size_t PointCloudLayer::size() const { return static_cast<std::size_t>(d_->coords->GetNumberOfTuples()); }

void PointCloudLayer::setColor(const QColor& color) {
    d_->color = color;
    d_->applyColorAndSize();
}

QColor PointCloudLayer::color() const { return d_->color; }

void PointCloudLayer::setColors(const std::vector<unsigned char>& rgb) {
    if (rgb.empty()) return clearColors();
    const std::size_t n = size();
    if (rgb.size() != 3 * n)
        throw Error("point cloud layer: " + std::to_string(rgb.size() / 3) + " colours for " + std::to_string(n) + " points");
    auto& c = *d_->colors;
    c.SetNumberOfComponents(3);
    c.SetNumberOfTuples(static_cast<vtkIdType>(n));
    std::copy(rgb.begin(), rgb.end(), c.GetPointer(0));
    c.Modified();
    if (!d_->perPoint) {
        d_->polyData->GetPointData()->SetScalars(d_->colors);
        d_->mapper->SetColorModeToDirectScalars();
        d_->mapper->SetScalarModeToUsePointData();
        d_->mapper->ScalarVisibilityOn();
        d_->perPoint = true;
    }
    d_->polyData->Modified();
}

void PointCloudLayer::clearColors() {
    if (!d_->perPoint) return;
    d_->polyData->GetPointData()->SetScalars(nullptr);
    d_->mapper->ScalarVisibilityOff();
    d_->perPoint = false;
    d_->polyData->Modified();
}

void PointCloudLayer::setPointSize(double pixels) {
    d_->pointSize = std::clamp(pixels, 1.0, 255.0);
    d_->applyColorAndSize();
}

double PointCloudLayer::pointSize() const { return d_->pointSize; }

void PointCloudLayer::setOpacity(double opacity) { d_->actor->GetProperty()->SetOpacity(std::clamp(opacity, 0.0, 1.0)); }

double PointCloudLayer::opacity() const { return d_->actor->GetProperty()->GetOpacity(); }

void PointCloudLayer::setVisible(bool visible) { d_->actor->SetVisibility(visible ? 1 : 0); }

bool PointCloudLayer::isVisible() const { return d_->actor->GetVisibility() != 0; }

void PointCloudLayer::setPointStyle(PointStyle style) {
    if (style == d_->style) return;
    d_->style = style;
    d_->applyPointStyle();
}

PointCloudLayer::PointStyle PointCloudLayer::pointStyle() const { return d_->style; }

int PointCloudLayer::reallocationCount() const { return d_->reallocations; }

}  // namespace tl::ui
