// VtkViewWidget: a QOpenGLWidget that hosts a vtkGenericOpenGLRenderWindow (the Qt 6 <-> VTK 9 adapter).
// VTK renders into its own framebuffer inside Qt's context; paintGL blits that into Qt's FBO.
#include "vtk/vtk_view_widget.h"

#include "vtk/camera_fit.h"
#include "vtk/orientation_marker.h"

#include <QEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkCommand.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkInteractorStyleImage.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkNew.h>
#include <vtkObjectFactory.h>
#include <vtkOpenGLFramebufferObject.h>
#include <vtkOpenGLState.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>

namespace tl::ui {
namespace {

// 2-D camera control: left or middle drag pans, wheel or right drag zooms. Only 'r' (fit) is a key.
class PanZoomStyle : public vtkInteractorStyleImage {
public:
    static PanZoomStyle* New();
    vtkTypeMacro(PanZoomStyle, vtkInteractorStyleImage);

    std::function<void()> onReset;

    void OnLeftButtonDown() override {
        const int* pos = this->Interactor->GetEventPosition();
        this->FindPokedRenderer(pos[0], pos[1]);
        if (!this->CurrentRenderer) return;
        this->GrabFocus(this->EventCallbackCommand);
        this->StartPan();
    }
    void OnLeftButtonUp() override {
        if (this->State == VTKIS_PAN) {
            this->EndPan();
            if (this->Interactor) this->ReleaseFocus();
        }
    }
    void OnChar() override {
        const char c = this->Interactor->GetKeyCode();
        if ((c == 'r' || c == 'R') && onReset) onReset();
    }
};
vtkStandardNewMacro(PanZoomStyle);

// 3-D camera control: VTK's trackball camera; only 'r' (fit) is a key.
class TrackballStyle : public vtkInteractorStyleTrackballCamera {
public:
    static TrackballStyle* New();
    vtkTypeMacro(TrackballStyle, vtkInteractorStyleTrackballCamera);

    std::function<void()> onReset;

    void OnChar() override {
        const char c = this->Interactor->GetKeyCode();
        if ((c == 'r' || c == 'R') && onReset) onReset();
    }
};
vtkStandardNewMacro(TrackballStyle);

}  // namespace

struct VtkViewWidget::Impl {
    vtkNew<vtkGenericOpenGLRenderWindow> window;
    vtkNew<vtkRenderer> renderer;
    vtkNew<vtkGenericRenderWindowInteractor> interactor;
    vtkNew<PanZoomStyle> panZoom;
    vtkNew<TrackballStyle> trackball;
    OrientationMarker marker;  // shown in 3-D only
    Interaction interaction = Interaction::Pan2D;
    QColor background{18, 20, 28};

    bool glReady = false;     // VTK initialised on the current Qt context
    bool inPaint = false;     // inside paintGL (renders there need no extra update())
    bool fitPending = true;   // fit the camera at the next paint
    double fitMargin = 0.06;
    double fitPadLeftPx = 0, fitPadBottomPx = 0;  // device-independent pixels
    int frames = 0;
    double fitBounds[6] = {0, 0, 0, 0, 0, 0};
    bool hasFitBounds = false;
    QSize fbSize{0, 0};
    std::vector<unsigned long> windowObservers;
    unsigned long renderObserver = 0;
};

QSurfaceFormat VtkViewWidget::surfaceFormat() {
    QSurfaceFormat fmt;
    fmt.setRenderableType(QSurfaceFormat::OpenGL);
    fmt.setVersion(3, 2);
    fmt.setProfile(QSurfaceFormat::CoreProfile);
    // Not forward-compatible (as VTK's own offscreen windows): wide lines (ellipses 2.2 px) are drawn
    // as wide here too, so a saved picture at the view size is the screen, pixel for pixel.
    fmt.setOption(QSurfaceFormat::DeprecatedFunctions);
    fmt.setSwapBehavior(QSurfaceFormat::DoubleBuffer);
    fmt.setRedBufferSize(8);
    fmt.setGreenBufferSize(8);
    fmt.setBlueBufferSize(8);
    fmt.setAlphaBufferSize(8);
    fmt.setDepthBufferSize(24);
    fmt.setStencilBufferSize(8);
    fmt.setSamples(0);  // VTK renders into its own framebuffers; Qt's FBO only receives the blit
    return fmt;
}

void VtkViewWidget::setDefaultSurfaceFormat() { QSurfaceFormat::setDefaultFormat(surfaceFormat()); }

VtkViewWidget::VtkViewWidget(QWidget* parent) : QOpenGLWidget(parent), d_(std::make_unique<Impl>()) {
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(64, 64);

    auto& w = *d_->window;
    w.SetFrameBlitModeToNoBlit();  // we blit into Qt's FBO ourselves
    w.SetReadyForRendering(false);  // until initializeGL
    w.SetOwnContext(false);
    w.SetMultiSamples(0);  // points antialias in their shader; MSAA would cost llvmpipe ~4x fill time
    w.AddRenderer(d_->renderer);
    d_->marker.attach(&w, d_->renderer);
    d_->marker.setVisible(false);
    d_->renderer->SetBackground(d_->background.redF(), d_->background.greenF(), d_->background.blueF());

    // The generic window asks its host about the context through events.
    auto makeCurrentCb = vtkSmartPointer<vtkCallbackCommand>::New();
    makeCurrentCb->SetClientData(this);
    makeCurrentCb->SetCallback([](vtkObject*, unsigned long, void* client, void*) {
        auto* self = static_cast<VtkViewWidget*>(client);
        if (self->context() && QOpenGLContext::currentContext() != self->context()) self->makeCurrent();
    });
    d_->windowObservers.push_back(w.AddObserver(vtkCommand::WindowMakeCurrentEvent, makeCurrentCb));

    auto isCurrentCb = vtkSmartPointer<vtkCallbackCommand>::New();
    isCurrentCb->SetClientData(this);
    isCurrentCb->SetCallback([](vtkObject*, unsigned long, void* client, void* callData) {
        auto* self = static_cast<VtkViewWidget*>(client);
        *static_cast<bool*>(callData) =
            self->context() != nullptr && QOpenGLContext::currentContext() == self->context();
    });
    d_->windowObservers.push_back(w.AddObserver(vtkCommand::WindowIsCurrentEvent, isCurrentCb));

    // Someone rendered the VTK window outside paintGL: show the result.
    auto frameCb = vtkSmartPointer<vtkCallbackCommand>::New();
    frameCb->SetClientData(this);
    frameCb->SetCallback([](vtkObject*, unsigned long, void* client, void*) {
        auto* self = static_cast<VtkViewWidget*>(client);
        if (!self->d_->inPaint) self->update();
    });
    d_->windowObservers.push_back(w.AddObserver(vtkCommand::WindowFrameEvent, frameCb));

    // The interactor never renders by itself: its render requests become Qt repaints.
    auto& iren = *d_->interactor;
    iren.SetRenderWindow(&w);
    iren.EnableRenderOff();
    auto renderCb = vtkSmartPointer<vtkCallbackCommand>::New();
    renderCb->SetClientData(this);
    renderCb->SetCallback([](vtkObject*, unsigned long, void* client, void*) {
        auto* self = static_cast<VtkViewWidget*>(client);
        self->update();
        emit self->cameraInteracted();  // the styles only ask for renders after moving the camera
    });
    d_->renderObserver = iren.AddObserver(vtkCommand::RenderEvent, renderCb);

    auto fit = [this] { resetCamera(d_->fitMargin, d_->fitPadLeftPx, d_->fitPadBottomPx); };
    d_->panZoom->onReset = fit;
    d_->trackball->onReset = fit;
    iren.SetInteractorStyle(d_->panZoom);
    d_->renderer->GetActiveCamera()->ParallelProjectionOn();
    iren.Initialize();
}

VtkViewWidget::~VtkViewWidget() {
    if (d_->glReady && context()) {
        makeCurrent();
        finalizeGL();
        doneCurrent();
    }
    d_->interactor->RemoveObserver(d_->renderObserver);
    for (unsigned long id : d_->windowObservers) d_->window->RemoveObserver(id);
    d_->panZoom->onReset = nullptr;
    d_->trackball->onReset = nullptr;
}

vtkRenderer* VtkViewWidget::renderer() const { return d_->renderer; }
vtkRenderWindow* VtkViewWidget::renderWindow() const { return d_->window; }

void VtkViewWidget::setBackground(const QColor& color) {
    d_->background = color;
    d_->renderer->SetBackground(color.redF(), color.greenF(), color.blueF());
    update();
}

QColor VtkViewWidget::background() const { return d_->background; }

void VtkViewWidget::setInteraction(Interaction mode) {
    d_->interaction = mode;
    if (mode == Interaction::Pan2D) {
        d_->interactor->SetInteractorStyle(d_->panZoom);
        d_->renderer->GetActiveCamera()->ParallelProjectionOn();
        d_->marker.setVisible(false);
    } else {
        d_->interactor->SetInteractorStyle(d_->trackball);
        d_->renderer->GetActiveCamera()->ParallelProjectionOff();
        d_->marker.setVisible(true);
    }
    resetCamera(d_->fitMargin, d_->fitPadLeftPx, d_->fitPadBottomPx);
}

VtkViewWidget::Interaction VtkViewWidget::interaction() const { return d_->interaction; }

void VtkViewWidget::resetCamera(double margin, double padLeftPx, double padBottomPx) {
    d_->fitMargin = std::max(0.0, margin);
    d_->fitPadLeftPx = std::max(0.0, padLeftPx);
    d_->fitPadBottomPx = std::max(0.0, padBottomPx);
    d_->fitPending = true;
    update();
}

void VtkViewWidget::requestRender() { update(); }

void VtkViewWidget::setFitBounds(const double* bounds) {
    d_->hasFitBounds = bounds != nullptr;
    if (bounds) std::copy(bounds, bounds + 6, d_->fitBounds);
}

void VtkViewWidget::setCamera(vtkCamera* camera) {
    if (!camera) return;
    d_->renderer->SetActiveCamera(camera);
    update();
}

QImage VtkViewWidget::grabImage() { return grabFramebuffer().convertToFormat(QImage::Format_RGB32); }

QPointF VtkViewWidget::worldToPixel(double x, double y, double z) const {
    vtkRenderer* r = d_->renderer;
    r->SetWorldPoint(x, y, z, 1.0);
    r->WorldToDisplay();
    const double* p = r->GetDisplayPoint();
    const int h = d_->window->GetSize()[1];
    return QPointF(p[0], h - p[1]);
}

QSize VtkViewWidget::framebufferSize() const { return size() * devicePixelRatioF(); }

int VtkViewWidget::frameCount() const { return d_->frames; }

void VtkViewWidget::initializeGL() {
    connect(context(), &QOpenGLContext::aboutToBeDestroyed, this,
            [this] {
                makeCurrent();
                finalizeGL();
            },
            Qt::DirectConnection);
    auto& w = *d_->window;
    w.SetOwnContext(false);
    w.SetReadyForRendering(true);
    w.SetIsDirect(true);
    w.SetSupportsOpenGL(true);
    const QSize fb = framebufferSize();
    w.SetSize(fb.width(), fb.height());
    d_->interactor->UpdateSize(fb.width(), fb.height());
    w.OpenGLInitContext();
    d_->glReady = true;
}

void VtkViewWidget::finalizeGL() {
    if (!d_->glReady) return;
    d_->window->Finalize();  // releases every renderer's graphics resources on this context
    d_->window->SetReadyForRendering(false);
    d_->glReady = false;
}

void VtkViewWidget::resizeGL(int, int) {
    const QSize fb = framebufferSize();
    d_->fbSize = fb;
    d_->window->SetSize(fb.width(), fb.height());
    d_->window->SetDPI(std::max(72, static_cast<int>(std::lround(72.0 * devicePixelRatioF()))));
    d_->interactor->UpdateSize(fb.width(), fb.height());
}

void VtkViewWidget::applyPendingCameraFit() {
    if (!d_->fitPending) return;
    d_->fitPending = false;
    const int* sz = d_->window->GetSize();
    const double aspect = (sz[0] > 0 && sz[1] > 0) ? double(sz[0]) / double(sz[1]) : 1.0;
    const double dpr = devicePixelRatioF();
    fitCamera(d_->renderer, aspect, d_->fitMargin, d_->interaction == Interaction::Trackball3D,
              d_->hasFitBounds ? d_->fitBounds : nullptr, sz[0] > 0 ? d_->fitPadLeftPx * dpr / sz[0] : 0.0,
              sz[1] > 0 ? d_->fitPadBottomPx * dpr / sz[1] : 0.0);
}

void VtkViewWidget::paintGL() {
    if (!d_->glReady) return;
    auto& w = *d_->window;
    const QSize fb = framebufferSize();
    if (fb != d_->fbSize) resizeGL(width(), height());
    applyPendingCameraFit();

    vtkOpenGLState* state = w.GetState();
    state->Reset();  // Qt touched GL since our last frame: resync VTK's state cache
    state->Push();   // ... and save Qt's state, restored by Pop() below
    // Reset() adopted Qt's values (GL defaults: depth func LESS, blending off); VTK expects its own.
    state->vtkglDepthFunc(GL_LEQUAL);
    state->vtkglDepthMask(GL_TRUE);
    state->vtkglEnable(GL_DEPTH_TEST);
    state->vtkglEnable(GL_BLEND);
    state->vtkglBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
    if (d_->marker.visible()) d_->marker.sync(d_->renderer->GetActiveCamera());
    d_->inPaint = true;
    w.Render();
    d_->inPaint = false;

    // Blit VTK's resolved display framebuffer into the widget's FBO.
    const int* vs = w.GetSize();
    state->PushFramebufferBindings();
    state->vtkglBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
    w.GetDisplayFramebuffer()->Bind(GL_READ_FRAMEBUFFER);
    w.GetDisplayFramebuffer()->ActivateReadBuffer(0);
    {
        vtkOpenGLState::ScopedglEnableDisable scissor(state, GL_SCISSOR_TEST);
        vtkOpenGLState::ScopedglViewport viewport(state);
        vtkOpenGLState::ScopedglColorMask colorMask(state);
        vtkOpenGLState::ScopedglClearColor clearColor(state);
        state->vtkglDisable(GL_SCISSOR_TEST);
        state->vtkglViewport(0, 0, fb.width(), fb.height());
        state->vtkglBlitFramebuffer(0, 0, vs[0], vs[1], 0, 0, fb.width(), fb.height(), GL_COLOR_BUFFER_BIT,
                                    GL_NEAREST);
        // Qt composes the widget with its alpha: make it opaque.
        state->vtkglColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
        state->vtkglClearColor(0.0f, 0.0f, 0.0f, 1.0f);
        state->vtkglClear(GL_COLOR_BUFFER_BIT);
    }
    state->PopFramebufferBindings();
    state->Pop();

    ++d_->frames;
    emit frameRendered();
}

// ---- input: Qt events -> VTK interactor events ------------------------------------------------

namespace {

void setPointerInfo(vtkGenericRenderWindowInteractor* iren, const QPointF& pos, Qt::KeyboardModifiers mods,
                    double dpr, int repeat = 0) {
    iren->SetEventInformationFlipY(static_cast<int>(std::lround(pos.x() * dpr)),
                                   static_cast<int>(std::lround(pos.y() * dpr)),
                                   (mods & Qt::ControlModifier) ? 1 : 0, (mods & Qt::ShiftModifier) ? 1 : 0, 0,
                                   repeat);
    iren->SetAltKey((mods & Qt::AltModifier) ? 1 : 0);
}

unsigned long pressEventFor(Qt::MouseButton b) {
    switch (b) {
    case Qt::LeftButton: return vtkCommand::LeftButtonPressEvent;
    case Qt::MiddleButton: return vtkCommand::MiddleButtonPressEvent;
    case Qt::RightButton: return vtkCommand::RightButtonPressEvent;
    default: return vtkCommand::NoEvent;
    }
}

unsigned long releaseEventFor(Qt::MouseButton b) {
    switch (b) {
    case Qt::LeftButton: return vtkCommand::LeftButtonReleaseEvent;
    case Qt::MiddleButton: return vtkCommand::MiddleButtonReleaseEvent;
    case Qt::RightButton: return vtkCommand::RightButtonReleaseEvent;
    default: return vtkCommand::NoEvent;
    }
}

}  // namespace

bool VtkViewWidget::event(QEvent* e) {
    if (e->type() == QEvent::Enter) d_->interactor->InvokeEvent(vtkCommand::EnterEvent, nullptr);
    else if (e->type() == QEvent::Leave) d_->interactor->InvokeEvent(vtkCommand::LeaveEvent, nullptr);
    return QOpenGLWidget::event(e);
}

void VtkViewWidget::mousePressEvent(QMouseEvent* e) {
    const unsigned long id = pressEventFor(e->button());
    if (id == vtkCommand::NoEvent) return QOpenGLWidget::mousePressEvent(e);
    setPointerInfo(d_->interactor, e->position(), e->modifiers(), devicePixelRatioF());
    d_->interactor->InvokeEvent(id, e);
    e->accept();
}

void VtkViewWidget::mouseDoubleClickEvent(QMouseEvent* e) {
    const unsigned long id = pressEventFor(e->button());
    if (id == vtkCommand::NoEvent) return QOpenGLWidget::mouseDoubleClickEvent(e);
    setPointerInfo(d_->interactor, e->position(), e->modifiers(), devicePixelRatioF(), 1);
    d_->interactor->InvokeEvent(id, e);
    e->accept();
}

void VtkViewWidget::mouseReleaseEvent(QMouseEvent* e) {
    const unsigned long id = releaseEventFor(e->button());
    if (id == vtkCommand::NoEvent) return QOpenGLWidget::mouseReleaseEvent(e);
    setPointerInfo(d_->interactor, e->position(), e->modifiers(), devicePixelRatioF());
    d_->interactor->InvokeEvent(id, e);
    e->accept();
}

void VtkViewWidget::mouseMoveEvent(QMouseEvent* e) {
    setPointerInfo(d_->interactor, e->position(), e->modifiers(), devicePixelRatioF());
    d_->interactor->InvokeEvent(vtkCommand::MouseMoveEvent, e);
    e->accept();
}

void VtkViewWidget::wheelEvent(QWheelEvent* e) {
    const int dy = e->angleDelta().y();
    if (dy == 0) return QOpenGLWidget::wheelEvent(e);
    setPointerInfo(d_->interactor, e->position(), e->modifiers(), devicePixelRatioF());
    d_->interactor->InvokeEvent(dy > 0 ? vtkCommand::MouseWheelForwardEvent : vtkCommand::MouseWheelBackwardEvent, e);
    e->accept();
}

namespace {
// 'q' and 'e' make VTK's styles terminate the application: never hand them to VTK.
// Space stays with the window too (play / pause).
bool isQuitKey(char c) { return c == 'q' || c == 'Q' || c == 'e' || c == 'E' || c == ' '; }
}  // namespace

void VtkViewWidget::keyPressEvent(QKeyEvent* e) {
    const QString text = e->text();
    const char c = (text.size() == 1 && text.at(0).unicode() < 128) ? static_cast<char>(text.at(0).unicode()) : 0;
    if (c == 0 || isQuitKey(c)) return QOpenGLWidget::keyPressEvent(e);
    const char sym[2] = {c, 0};
    auto* iren = d_->interactor.Get();
    iren->SetKeyEventInformation((e->modifiers() & Qt::ControlModifier) ? 1 : 0,
                                 (e->modifiers() & Qt::ShiftModifier) ? 1 : 0, c, e->isAutoRepeat() ? 1 : 0, sym);
    iren->SetAltKey((e->modifiers() & Qt::AltModifier) ? 1 : 0);
    iren->InvokeEvent(vtkCommand::KeyPressEvent, e);
    iren->InvokeEvent(vtkCommand::CharEvent, e);
    e->accept();
}

void VtkViewWidget::keyReleaseEvent(QKeyEvent* e) {
    const QString text = e->text();
    const char c = (text.size() == 1 && text.at(0).unicode() < 128) ? static_cast<char>(text.at(0).unicode()) : 0;
    if (c == 0 || isQuitKey(c)) return QOpenGLWidget::keyReleaseEvent(e);
    const char sym[2] = {c, 0};
    auto* iren = d_->interactor.Get();
    iren->SetKeyEventInformation((e->modifiers() & Qt::ControlModifier) ? 1 : 0,
                                 (e->modifiers() & Qt::ShiftModifier) ? 1 : 0, c, 0, sym);
    iren->InvokeEvent(vtkCommand::KeyReleaseEvent, e);
    e->accept();
}

}  // namespace tl::ui
