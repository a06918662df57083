// TextOverlay: a screen-anchored text label (title, legend line, frame counter) drawn over a VTK renderer.
// Sizes are in points at the render window's DPI; a system sans TrueType font (Unicode) when one is found.
#include "scene/text_overlay.h"

#include <QFileInfo>
#include <QStandardPaths>
#include <QStringList>

#include <vtkCoordinate.h>
#include <vtkNew.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>

namespace tl::ui {

struct TextOverlay::Impl {
    vtkNew<vtkTextActor> actor;
    vtkSmartPointer<vtkRenderer> renderer;
    QString text;
    Anchor anchor = Anchor::TopCenter;

    void applyText() {
        vtkTextProperty* tp = actor->GetTextProperty();
        const QString font = fontFile(tp->GetBold());
        if (font.isEmpty()) {
            tp->SetFontFamilyToArial();  // VTK's embedded font: Latin-1 only
        } else {
            tp->SetFontFamily(VTK_FONT_FILE);
            tp->SetFontFile(font.toLocal8Bit().constData());
        }
        actor->SetInput(text.toUtf8().constData());
    }

    void applyAnchor() {
        vtkTextProperty* tp = actor->GetTextProperty();
        const bool top = anchor == Anchor::TopLeft || anchor == Anchor::TopCenter || anchor == Anchor::TopRight;
        double x = 0.5;
        if (anchor == Anchor::TopLeft || anchor == Anchor::BottomLeft) {
            tp->SetJustificationToLeft();
            x = 0.015;
        } else if (anchor == Anchor::TopRight || anchor == Anchor::BottomRight) {
            tp->SetJustificationToRight();
            x = 0.985;
        } else {
            tp->SetJustificationToCentered();
        }
        if (top) tp->SetVerticalJustificationToTop();
        else tp->SetVerticalJustificationToBottom();
        actor->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
        actor->SetPosition(x, top ? 0.975 : 0.025);
    }
};

TextOverlay::TextOverlay(const QString& text, Anchor anchor) : d_(std::make_unique<Impl>()) {
    d_->actor->SetTextScaleModeToNone();
    vtkTextProperty* tp = d_->actor->GetTextProperty();
    tp->SetFontSize(18);
    tp->SetColor(0.92, 0.93, 0.95);
    tp->SetShadow(false);
    d_->anchor = anchor;
    d_->text = text;
    d_->applyAnchor();
    d_->applyText();
}

TextOverlay::~TextOverlay() { detach(); }

void TextOverlay::attach(vtkRenderer* renderer) {
    if (renderer == d_->renderer.Get()) return;
    detach();
    if (!renderer) return;
    d_->renderer = renderer;
    renderer->AddActor2D(d_->actor);
}

void TextOverlay::detach() {
    if (!d_->renderer) return;
    d_->renderer->RemoveActor2D(d_->actor);
    d_->renderer = nullptr;
}

void TextOverlay::setText(const QString& text) {
    d_->text = text;
    d_->applyText();
}

QString TextOverlay::text() const { return d_->text; }

void TextOverlay::setAnchor(Anchor anchor) {
    d_->anchor = anchor;
    d_->applyAnchor();
}

void TextOverlay::setFontSize(int points) { d_->actor->GetTextProperty()->SetFontSize(points); }

void TextOverlay::setColor(const QColor& color) {
    d_->actor->GetTextProperty()->SetColor(color.redF(), color.greenF(), color.blueF());
    d_->actor->GetTextProperty()->SetOpacity(color.alphaF());
}

void TextOverlay::setBold(bool bold) {
    d_->actor->GetTextProperty()->SetBold(bold);
    d_->applyText();
}

void TextOverlay::setVisible(bool visible) { d_->actor->SetVisibility(visible ? 1 : 0); }

QString TextOverlay::fontFile(bool bold) {
    static const auto find = [](const QStringList& names) {
        QStringList dirs = QStandardPaths::standardLocations(QStandardPaths::FontsLocation);
        dirs << "/usr/share/fonts/truetype/dejavu" << "/usr/share/fonts/TTF" << "/usr/share/fonts/dejavu"
             << "/usr/share/fonts/truetype/noto" << "/usr/share/fonts/truetype/liberation";
        for (const QString& name : names)
            for (const QString& dir : dirs) {
                const QFileInfo fi(dir + "/" + name);
                if (fi.isFile()) return fi.absoluteFilePath();
            }
        return QString();
    };
    static const QString regular = find({"DejaVuSans.ttf", "NotoSans-Regular.ttf", "LiberationSans-Regular.ttf"});
    static const QString boldFace =
        find({"DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf", "LiberationSans-Bold.ttf"});
    return bold && !boldFace.isEmpty() ? boldFace : regular;
}

}  // namespace tl::ui
