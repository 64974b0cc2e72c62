"""Dropout on an OpenCL device from PyOpenCL, through libdropout_opencl.

    python3 dropout_pyopencl.py [LIBDIR]

LIBDIR holds libdropout_opencl.so (default: the system's library path); it
loads libdropout, the CPU library, which the check below calls too.  PyOpenCL owns the context, queue and buffers; the library
enqueues its kernel on that queue and returns an event PyOpenCL can wait
for.  The result is checked bit for bit against the CPU library (the same
call on the host) and the script exits non-zero if they differ.
"""
import ctypes
import os
import sys

import numpy as np
import pyopencl as cl

libdir = sys.argv[1] if len(sys.argv) > 1 else ""
gpu = ctypes.CDLL(os.path.join(libdir, "libdropout_opencl.so"))
cpu = ctypes.CDLL("libdropout.so.0.2")  # already loaded by libdropout_opencl


class Params(ctypes.Structure):  # dropout_params of dropout.h
    _fields_ = [("p", ctypes.c_double), ("seed", ctypes.c_uint64),
                ("stream", ctypes.c_uint64), ("first", ctypes.c_uint64),
                ("mode", ctypes.c_int)]


P, H, SZ = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t
gpu.dropout_opencl_create.argtypes = [H, P, P]
gpu.dropout_opencl_destroy.argtypes = [P]
gpu.dropout_opencl_status_string.restype = ctypes.c_char_p
# dcl, queue, params, dtype, y, y_offset, x, x_offset, n, mask, mask_offset,
# mask_size, wait_count, wait_list, event
gpu.dropout_opencl_forward.argtypes = [P, P, ctypes.POINTER(Params), ctypes.c_int, P, SZ, P,
                                       SZ, SZ, P, SZ, SZ, ctypes.c_uint, P, H]
cpu.dropout_forward_f32.argtypes = [ctypes.POINTER(Params), P, P, SZ, P, SZ]
DTYPE_F32 = 0


def check(status):
    if status != 0:
        raise RuntimeError(gpu.dropout_opencl_status_string(status).decode())


context = cl.Context([cl.get_platforms()[0].get_devices()[0]])
queue = cl.CommandQueue(context)
device = context.devices[0]

# The program is built once here; keep `dcl` for as long as the context.
dcl = ctypes.c_void_p()
check(gpu.dropout_opencl_create(ctypes.byref(dcl), context.int_ptr, device.int_ptr))

n = 1_000_003
x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
mask_bytes = (n + 7) // 8
mf = cl.mem_flags
x_buf = cl.Buffer(context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=x)
y_buf = cl.Buffer(context, mf.WRITE_ONLY, x.nbytes)
mask_buf = cl.Buffer(context, mf.WRITE_ONLY, mask_bytes)

params = Params(p=0.1, seed=1234, stream=7, first=0, mode=0)
event = ctypes.c_void_p()
check(gpu.dropout_opencl_forward(dcl, queue.int_ptr, ctypes.byref(params), DTYPE_F32,
                                 y_buf.int_ptr, 0, x_buf.int_ptr, 0, n,
                                 mask_buf.int_ptr, 0, mask_bytes, 0, None, ctypes.byref(event)))
done = cl.Event.from_int_ptr(event.value, retain=False)  # PyOpenCL now owns the event
y = np.empty_like(x)
mask = np.empty(mask_bytes, dtype=np.uint8)
cl.enqueue_copy(queue, y, y_buf, wait_for=[done])
cl.enqueue_copy(queue, mask, mask_buf)
queue.finish()

# The same call on the CPU: the same bits.
y_cpu = np.empty_like(x)
mask_cpu = np.empty(mask_bytes, dtype=np.uint8)
if cpu.dropout_forward_f32(ctypes.byref(params), y_cpu.ctypes.data, x.ctypes.data, n,
                           mask_cpu.ctypes.data, mask_bytes) != 0:
    raise RuntimeError("dropout_forward_f32 failed")
same = y.view(np.uint32).tobytes() == y_cpu.view(np.uint32).tobytes() and \
    mask.tobytes() == mask_cpu.tobytes()
kept = np.unpackbits(mask, bitorder="little")[:n].mean()
print("%s: n %d, p %.1f, kept %.4f; same bits as the CPU library: %s"
      % (device.name, n, params.p, kept, same))
gpu.dropout_opencl_destroy(dcl)
sys.exit(0 if same else 1)
