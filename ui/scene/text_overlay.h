// TextOverlay: a screen-anchored text label (title, legend line, frame counter) drawn over a VTK renderer.
// Sizes are in points at the render window's DPI; a system sans TrueType font (Unicode) when one is found.
#pragma once
#include <QColor>
#include <QString>
#include <memory>

class vtkRenderer;

namespace tl::ui {

class TextOverlay {
public:
    enum class Anchor { TopLeft, TopCenter, TopRight, BottomLeft, BottomCenter, BottomRight };

    explicit TextOverlay(const QString& text = {}, Anchor anchor = Anchor::TopCenter);
    ~TextOverlay();  // detaches from its renderer
    TextOverlay(const TextOverlay&) = delete;
    TextOverlay& operator=(const TextOverlay&) = delete;

    void attach(vtkRenderer* renderer);  // nullptr detaches
    void detach();

    void setText(const QString& text);
    QString text() const;
    void setAnchor(Anchor anchor);
    void setFontSize(int points);
    void setColor(const QColor& color);
    void setBold(bool bold);
    void setVisible(bool visible);

    // The sans TrueType file used for text ("" when none is found: VTK's embedded Latin-1 Arial is used).
    static QString fontFile(bool bold = false);

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace tl::ui
