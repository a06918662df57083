// AnimationWriter: frames (QImage) to an MP4 (H.264, libx264), an animated GIF (per-frame median-cut
// palette, Floyd-Steinberg dithering) or a PNG sequence, one output frame per addFrame (no formula).
#pragma once
#include <memory>
#include <string>

class QImage;

namespace tl::ui {

enum class AnimationFormat { Mp4, Gif, PngSequence };

// Writes to a hidden temporary beside `path` ('.<name>.tmp-XXXXXX', a file or a folder) and renames it
// onto `path` in finish(): the target appears only complete. Cancelled, failed or destroyed before
// finish(), it removes every temporary and leaves any existing target untouched.
//
// Constant frame rate: frame k has time k / fps (ffprobe reports the fps and exactly the frames added).
// MP4: yuv420p, CRF 20, preset "faster", BT.709, faststart; width and height must be even.
// GIF: at most 50 fps (GIF delays are hundredths of a second), loops forever.
// PNG sequence: `path` ends in '/' or is an existing folder; frame_0000.png, frame_0001.png, ... An
// existing folder must be empty or hold only frame_<digits>.png files (a previous sequence), which
// the new sequence replaces as a whole in finish().
//
// Errors are tl::Error with a one-line message naming the path: an unknown extension, impossible
// sizes (1..16384) or fps, a missing parent folder, an unwritable place, an encoder failure. An error
// inside addFrame/finish cancels the writer (nothing is left); later calls throw.
class AnimationWriter {
public:
    AnimationWriter(const std::string& path, int width, int height, double fps);
    ~AnimationWriter();
    AnimationWriter(const AnimationWriter&) = delete;
    AnimationWriter& operator=(const AnimationWriter&) = delete;

    // Converts (alpha over black) and scales (smoothly, ignoring aspect) to width x height if needed.
    void addFrame(const QImage& image);
    // Flushes the encoder, writes the trailer, renames the temporary onto the path (replacing an
    // existing file / sequence folder). Throws if no frame was added (and cancels).
    void finish();
    // Stops and removes every temporary; idempotent; does nothing after finish().
    void cancel();

    int framesWritten() const;
    AnimationFormat format() const;
    int width() const;
    int height() const;
    bool isOpen() const;  // neither finished nor cancelled

    // Mp4 for "*.mp4", Gif for "*.gif" (case-insensitive), PngSequence for "dir/" or an existing folder;
    // throws tl::Error naming the path and the accepted forms otherwise.
    static AnimationFormat formatFor(const std::string& path);

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace tl::ui
