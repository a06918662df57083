// PointCloudLayer: shows a tl::PointCloud (d = 1..3; missing coordinates are 0) as round points of one
// colour in a VTK renderer. setPoints() rewrites the coordinates in place: cheap per-frame updates.
#include "scene/point_cloud_layer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <vtkActor.h>
#include <vtkMatrix3x3.h>
#include <vtkMatrix4x4.h>
#include <vtkObjectFactory.h>
#include <vtkOpenGLBufferObject.h>
#include <vtkOpenGLCamera.h>
#include <vtkOpenGLRenderWindow.h>
#include <vtkOpenGLRenderer.h>
#include <vtkOpenGLShaderCache.h>
#include <vtkOpenGLState.h>
#include <vtkOpenGLVertexArrayObject.h>
#include <vtkShaderProgram.h>
#include <vtk_glew.h>
#include <vtkCellArray.h>
#include <vtkFloatArray.h>
#include <vtkIdTypeArray.h>
#include <vtkNew.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRendererCollection.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkUnsignedCharArray.h>
#include <vtkPointData.h>

#include "measure/point_cloud.h"
#include "shaders/point_splat.frag.h"
#include "shaders/point_splat.vert.h"
#include "util/error.h"

namespace tl::ui {

namespace {

// The 2-D particle renderer: a VTK prop that draws its points in VTK's opaque pass with our own
// minimal program (shaders/point_splat.*.glsl): one VBO upload when the coordinates change, one
// glDrawArrays(GL_POINTS) per frame, no index buffer, no depth test (splats blend in draw order).
class SplatProp : public vtkProp {
public:
    static SplatProp* New();
    vtkTypeMacro(SplatProp, vtkProp);

    vtkFloatArray* coords = nullptr;           // n x 3, owned by the layer
    vtkUnsignedCharArray* colors = nullptr;    // n x 3 or nullptr
    float color[3] = {0.34f, 0.63f, 0.94f};
    float diameter = 6.0f;
    float opacity = 1.0f;
    bool coordsDirty = true, colorsDirty = true;
    vtkIdType uploaded = -1;  // point count of the VBO's storage

    int RenderOpaqueGeometry(vtkViewport* vp) override {
        const vtkIdType n = coords ? coords->GetNumberOfTuples() : 0;
        if (!GetVisibility() || n == 0) return 0;
        auto* ren = vtkOpenGLRenderer::SafeDownCast(vp);
        auto* win = ren ? vtkOpenGLRenderWindow::SafeDownCast(ren->GetRenderWindow()) : nullptr;
        auto* cam = ren ? vtkOpenGLCamera::SafeDownCast(ren->GetActiveCamera()) : nullptr;
        if (!win || !cam) return 0;
        const bool perPoint = colors && colors->GetNumberOfTuples() == n;
        vtkShaderProgram* prog = win->GetShaderCache()->ReadyShaderProgram(
            variant(shaders::pointSplatVert, perPoint).c_str(), variant(shaders::pointSplatFrag, perPoint).c_str(), "");
        if (!prog) return 0;
        if (coordsDirty) {
            if (n == uploaded && vbo->Bind()) {
                // Same size: overwrite in place (no reallocation, no page faults in software GL).
                glBufferSubData(GL_ARRAY_BUFFER, 0, static_cast<GLsizeiptr>(3 * n * sizeof(float)), coords->GetPointer(0));
            } else {
                vbo->Upload(coords->GetPointer(0), static_cast<std::size_t>(3 * n), vtkOpenGLBufferObject::ArrayBuffer);
                uploaded = n;
            }
            coordsDirty = false;
        }
        if (perPoint && colorsDirty) {
            cbo->Upload(colors->GetPointer(0), static_cast<std::size_t>(3 * n), vtkOpenGLBufferObject::ArrayBuffer);
            colorsDirty = false;
        }
        vao->ShaderProgramChanged();  // (re)bind the attributes to this program
        vao->Bind();
        vao->AddAttributeArray(prog, vbo, "vertexMC", 0, 3 * sizeof(float), VTK_FLOAT, 3, false);
        if (perPoint) vao->AddAttributeArray(prog, cbo, "colorIn", 0, 3, VTK_UNSIGNED_CHAR, 3, true);
        vtkMatrix4x4 *wcvc = nullptr, *vcdc = nullptr, *wcdc = nullptr;
        vtkMatrix3x3* normals = nullptr;
        cam->GetKeyMatrices(ren, wcvc, normals, vcdc, wcdc);
        prog->SetUniformMatrix("WCDCMatrix", wcdc);
        prog->SetUniformf("pointDiameter", diameter);
        prog->SetUniformf("halfDiameter", 0.5f * std::max(diameter, 1.0f));
        prog->SetUniformf("layerOpacity", opacity);
        if (!perPoint) prog->SetUniform3f("layerColor", color);
        vtkOpenGLState* st = win->GetState();
        // 2-D splats need no depth: they lie in one plane and layer in draw order (the fragment
        // rate of software GL is what a frame costs).
        vtkOpenGLState::ScopedglDepthMask depthMask(st);
        vtkOpenGLState::ScopedglEnableDisable depthTest(st, GL_DEPTH_TEST);
        st->vtkglDepthMask(GL_FALSE);
        st->vtkglDisable(GL_DEPTH_TEST);
        vtkOpenGLState::ScopedglBlendFuncSeparate blendFunc(st);
        vtkOpenGLState::ScopedglEnableDisable scissor(st, GL_SCISSOR_TEST);
        if (ren->GetRenderWindow()->GetRenderers()->GetNumberOfItems() == 1) st->vtkglDisable(GL_SCISSOR_TEST);  // one viewport: nothing to clip
        st->vtkglEnable(GL_BLEND);
        st->vtkglBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
        glEnable(GL_PROGRAM_POINT_SIZE);
        glDrawArrays(GL_POINTS, 0, static_cast<GLsizei>(n));
        glDisable(GL_PROGRAM_POINT_SIZE);
        vao->Release();
        return 1;
    }
    // The program source with TL_POINT_COLORS defined (per-point colours) or not (one colour), right
    // after the version line VTK substitutes for //VTK::System::Dec.
    static std::string variant(const char* source, bool perPoint) {
        std::string s = source;
        if (perPoint) {
            const std::string tag = "//VTK::System::Dec\n";
            const std::size_t at = s.find(tag);
            s.insert(at == std::string::npos ? 0 : at + tag.size(), "#define TL_POINT_COLORS\n");
        }
        return s;
    }

    vtkTypeBool HasTranslucentPolygonalGeometry() override { return 0; }
    vtkTypeBool HasOpaqueGeometry() override { return 1; }
    void ReleaseGraphicsResources(vtkWindow*) override {
        vbo->ReleaseGraphicsResources();
        cbo->ReleaseGraphicsResources();
        vao->ReleaseGraphicsResources();
        coordsDirty = colorsDirty = true;
        uploaded = -1;
    }
    // Bounds are kept by the layer as it converts the coordinates (no extra pass per render).
    double* GetBounds() override { return coords && coords->GetNumberOfTuples() > 0 ? bounds : nullptr; }
    double bounds[6] = {0, 0, 0, 0, 0, 0};

private:
    SplatProp() = default;
    vtkNew<vtkOpenGLBufferObject> vbo, cbo;
    vtkNew<vtkOpenGLVertexArrayObject> vao;
};
vtkStandardNewMacro(SplatProp);

}  // namespace

struct PointCloudLayer::Impl {
    vtkNew<vtkFloatArray> coords;  // n x 3, the buffer setPoints() writes into
    vtkNew<vtkPoints> points;
    vtkNew<vtkCellArray> verts;
    vtkNew<vtkPolyData> polyData;
    vtkNew<vtkPolyDataMapper> mapper;
    vtkNew<vtkActor> actor;
    vtkNew<vtkUnsignedCharArray> colors;  // n x 3, when per-point colours are set
    vtkNew<SplatProp> splat;              // draws the Disc style; the actor draws Sphere
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
        splat->coords = coords;
        splat->colors = nullptr;
        applyPointStyle();
        applyColorAndSize();
    }

    // Cheap: property values and a uniform, no shader rebuild.
    void applyColorAndSize() {
        vtkProperty* p = actor->GetProperty();
        p->SetColor(color.redF(), color.greenF(), color.blueF());
        p->SetPointSize(static_cast<float>(pointSize));
        splat->color[0] = static_cast<float>(color.redF());
        splat->color[1] = static_cast<float>(color.greenF());
        splat->color[2] = static_cast<float>(color.blueF());
        splat->diameter = static_cast<float>(pointSize);
    }

    // Disc: the splat prop (our shader); Sphere: VTK's lit sphere impostors on the actor.
    void applyPointStyle() {
        vtkProperty* p = actor->GetProperty();
        p->RenderPointsAsSpheresOn();
        p->LightingOn();
        p->SetAmbient(0.25);
        p->SetDiffuse(0.8);
        p->SetSpecular(0.3);
        p->SetSpecularPower(30.0);
        if (renderer) {
            renderer->RemoveActor(actor);
            renderer->RemoveViewProp(splat);
            if (style == PointStyle::Disc) renderer->AddViewProp(splat);
            else renderer->AddActor(actor);
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
    d_->applyPointStyle();  // adds the prop of the current style
}

void PointCloudLayer::detach() {
    if (!d_->renderer) return;
    d_->renderer->RemoveActor(d_->actor);
    d_->renderer->RemoveViewProp(d_->splat);
    d_->renderer = nullptr;
}

vtkRenderer* PointCloudLayer::renderer() const { return d_->renderer.Get(); }

void PointCloudLayer::setPoints(const PointCloud& cloud) {
    if (cloud.dim < 1 || cloud.dim > 3) throw Error("point cloud layer: dimension " + std::to_string(cloud.dim) + " is not 1, 2 or 3");
    const std::size_t n = cloud.size();
    if (cloud.points.size() != n * static_cast<std::size_t>(std::max(cloud.dim, 0)))
        throw Error("point cloud layer: " + std::to_string(cloud.points.size()) + " coordinates for " +
                    std::to_string(n) + " points in dimension " + std::to_string(cloud.dim));
    setPoints(cloud.points.data(), n, cloud.dim);
}

void PointCloudLayer::setPoints(const double* coords, std::size_t n, int dim) {
    if (dim < 1 || dim > 3) throw Error("point cloud layer: dimension " + std::to_string(dim) + " is not 1, 2 or 3");
    const auto count = static_cast<vtkIdType>(n);
    if (count != d_->coords->GetNumberOfTuples()) {
        d_->coords->SetNumberOfTuples(count);
        d_->rebuildVerts(count);
        ++d_->reallocations;
        clearColors();  // per-point colours belonged to the old points
    }
    float* out = d_->coords->GetPointer(0);
    const double* in = coords;
    float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (std::size_t i = 0; i < n; ++i, in += dim, out += 3) {
        out[0] = static_cast<float>(in[0]);
        out[1] = dim > 1 ? static_cast<float>(in[1]) : 0.0f;
        out[2] = dim > 2 ? static_cast<float>(in[2]) : 0.0f;
        for (int k = 0; k < 3; ++k) {
            lo[k] = std::min(lo[k], out[k]);  // NaN never wins a comparison: it stays out of the bounds
            hi[k] = std::max(hi[k], out[k]);
        }
    }
    for (int k = 0; k < 3; ++k) {
        d_->splat->bounds[2 * k] = lo[k] <= hi[k] ? lo[k] : 0.0;
        d_->splat->bounds[2 * k + 1] = lo[k] <= hi[k] ? hi[k] : 0.0;
    }
    d_->coords->Modified();
    d_->splat->coordsDirty = true;
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
    d_->splat->colors = d_->colors;
    d_->splat->colorsDirty = true;
    d_->polyData->Modified();
}

void PointCloudLayer::clearColors() {
    if (!d_->perPoint) return;
    d_->polyData->GetPointData()->SetScalars(nullptr);
    d_->splat->colors = nullptr;
    d_->mapper->ScalarVisibilityOff();
    d_->perPoint = false;
    d_->polyData->Modified();
}

void PointCloudLayer::setPointSize(double pixels) {
    d_->pointSize = std::clamp(pixels, 1.0, 255.0);
    d_->applyColorAndSize();
}

double PointCloudLayer::pointSize() const { return d_->pointSize; }

void PointCloudLayer::setOpacity(double opacity) {
    d_->actor->GetProperty()->SetOpacity(std::clamp(opacity, 0.0, 1.0));
    d_->splat->opacity = static_cast<float>(std::clamp(opacity, 0.0, 1.0));
}

double PointCloudLayer::opacity() const { return d_->actor->GetProperty()->GetOpacity(); }

void PointCloudLayer::setVisible(bool visible) {
    d_->actor->SetVisibility(visible ? 1 : 0);
    d_->splat->SetVisibility(visible ? 1 : 0);
}

bool PointCloudLayer::isVisible() const { return d_->actor->GetVisibility() != 0; }

void PointCloudLayer::setPointStyle(PointStyle style) {
    if (style == d_->style) return;
    d_->style = style;
    d_->applyPointStyle();
}

PointCloudLayer::PointStyle PointCloudLayer::pointStyle() const { return d_->style; }

int PointCloudLayer::reallocationCount() const { return d_->reallocations; }

}  // namespace tl::ui
