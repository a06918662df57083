#!/usr/bin/env python3
"""Reads every ParaView series (DIR/panel<k>.pvd) that `transportlab-cli simulate --format vtp|both`
wrote, with VTK's own XML readers (Debian: python3-vtk9), and prints one JSON object on stdout.

    read_pvd.py DIR [--frame all|last|F]

The .pvd collection is ParaView's format; plain VTK has no reader for it, so its XML is parsed here
(xml.etree) for the (timestep, file) pairs and each file is read with vtkXMLPolyDataReader (.vtp) or
vtkXMLImageDataReader (.vti). Output:

    {"vtk_version": "9.1.0", "warnings": [...],   # VTK warnings, if any (errors fail)
     "panels": [{"panel": 0, "pvd": "panel0.pvd", "timesteps": [...], "files": [...],
                 "frames": [{"index": 0, "timestep": 0.0, "file": "panel0/frame_0000.vtp",
                             "type": "vtkPolyData", "points": 200, "verts": 200, "time_value": 0.0,
                             "point_arrays": ["weight", ...], "field_arrays": ["TimeValue"],
                             # only for the chosen frame(s) (--frame, default all):
                             "coordinates": [[x, y, z], ...],   # vtkPolyData
                             "dimensions": [nx, ny, nz], "spacing": [...], "origin": [...],
                             "density": [...],                  # vtkImageData, x fastest
                             "sha256": "...", "first_rows": [[...], ...]}, ...]}, ...]}

Numbers are printed with Python's repr (shortest round trip), so they are exact. Exit codes: 0 read;
1 a reader or file error (one line on stderr); 2 usage; 77 the `vtk` module cannot be imported
(the reason on stderr; callers skip).
"""
import hashlib
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def fail(message, code=1):
    sys.stderr.write("read_pvd: " + message.replace("\n", " ") + "\n")
    sys.exit(code)


def main(argv):
    args = argv[1:]
    which = "all"
    if "--frame" in args:
        i = args.index("--frame")
        if i + 1 >= len(args):
            fail("--frame needs a value (all, last or a frame index)", 2)
        which = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        fail("usage: read_pvd.py DIR [--frame all|last|F]", 2)
    root = args[0]
    if which not in ("all", "last") and not re.fullmatch(r"\d+", which):
        fail("--frame must be all, last or a frame index (got '%s')" % which, 2)

    try:
        import vtk  # python3-vtk9
    except Exception as e:  # ImportError, or a broken installation
        fail("cannot import the vtk module (install python3-vtk9): %s: %s" % (type(e).__name__, e), 77)

    # VTK reports reader errors as events and output-window text, not exceptions: collect both.
    errors = []

    @vtk.calldata_type(vtk.VTK_STRING)
    def on_error(obj, event, message):
        errors.append("%s: %s" % (obj.GetClassName(), " ".join(str(message).split())))

    def read(path):
        ext = os.path.splitext(path)[1].lower()
        if ext == ".vtp":
            reader = vtk.vtkXMLPolyDataReader()
        elif ext == ".vti":
            reader = vtk.vtkXMLImageDataReader()
        else:
            reader = vtk.vtkXMLGenericDataObjectReader()
        reader.AddObserver("ErrorEvent", on_error)
        if not os.path.isfile(path):
            fail("missing file '%s'" % path)
        if not reader.CanReadFile(path):
            fail("VTK cannot read '%s'" % path)
        # VTK prints errors and warnings to its output window (stderr): capture them per file instead.
        log = vtk.vtkStringOutputWindow()
        vtk.vtkOutputWindow.SetInstance(log)
        reader.SetFileName(path)
        reader.Update()
        text = " ".join(log.GetOutput().split())
        if errors or reader.GetErrorCode() != 0 or "ERROR" in text:
            fail("reading '%s' failed: %s" % (path, "; ".join(errors + ([text] if text else [])) or "error code %d" % reader.GetErrorCode()))
        if text:
            warnings.append("%s: %s" % (path, text))
        return reader.GetOutput()

    warnings = []

    pvds = []
    for name in os.listdir(root):
        m = re.fullmatch(r"panel(\d+)\.pvd", name)
        if m:
            pvds.append((int(m.group(1)), name))
    pvds.sort()
    if not pvds:
        fail("no panel<k>.pvd in '%s'" % root)

    panels = []
    for k, name in pvds:
        try:
            tree = ET.parse(os.path.join(root, name))
        except ET.ParseError as e:
            fail("%s: %s" % (name, e))
        top = tree.getroot()
        if top.tag != "VTKFile" or top.get("type") != "Collection":
            fail("%s is not a VTK Collection" % name)
        collection = top.find("Collection")
        if collection is None:
            fail("%s has no <Collection>" % name)
        sets = [(float(d.get("timestep")), d.get("file")) for d in collection.findall("DataSet")]
        chosen = set()
        if which == "all":
            chosen = set(range(len(sets)))
        elif which == "last":
            chosen = {len(sets) - 1}
        else:
            chosen = {int(which)}
        frames = []
        for f, (t, rel) in enumerate(sets):
            data = read(os.path.join(root, rel))  # file paths are relative to the .pvd
            fd = data.GetFieldData()
            tv = fd.GetArray("TimeValue")
            pd = data.GetPointData()
            frame = {
                "index": f,
                "timestep": t,
                "file": rel,
                "type": data.GetClassName(),
                "points": data.GetNumberOfPoints(),
                "time_value": tv.GetValue(0) if tv is not None and tv.GetNumberOfTuples() == 1 else None,
                "point_arrays": [pd.GetArrayName(i) for i in range(pd.GetNumberOfArrays())],
                "field_arrays": [fd.GetArrayName(i) for i in range(fd.GetNumberOfArrays())],
            }
            if data.IsA("vtkPolyData"):
                frame["verts"] = data.GetNumberOfVerts()
            if f in chosen:
                if data.IsA("vtkImageData"):
                    frame["dimensions"] = list(data.GetDimensions())
                    frame["spacing"] = list(data.GetSpacing())
                    frame["origin"] = list(data.GetOrigin())
                    arr = pd.GetArray("density")
                    values = [arr.GetValue(i) for i in range(arr.GetNumberOfTuples())] if arr is not None else []
                    frame["density"] = values
                    rows = [[v] for v in values]
                else:
                    rows = [list(data.GetPoint(i)) for i in range(data.GetNumberOfPoints())]
                    frame["coordinates"] = rows
                text = "\n".join(",".join(repr(v) for v in r) for r in rows)
                frame["sha256"] = hashlib.sha256(text.encode()).hexdigest()
                frame["first_rows"] = rows[:3]
            frames.append(frame)
        panels.append({
            "panel": k,
            "pvd": name,
            "timesteps": [t for t, _ in sets],
            "files": [rel for _, rel in sets],
            "frames": frames,
        })

    json.dump({"vtk_version": vtk.vtkVersion.GetVTKVersion(), "warnings": warnings, "panels": panels}, sys.stdout, allow_nan=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
