/* vdso-lab shim for CRIU's criu/include/log.h: pr_err records the subject's own error text (first
 * message of a call) into a thread-local buffer that the adapter returns; the other levels are dropped.
 * No allocation: vsnprintf with the plain %d/%s/%zd/%lx conversions CRIU's parser uses. */
#ifndef VL_SHIM_LOG_H
#define VL_SHIM_LOG_H
#include "vl_subject.h"
#define LOG_PREFIX ""
#define pr_err(fmt, ...) vl_log_err(LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) ((void)0)
#define pr_info(fmt, ...) ((void)0)
#define pr_debug(fmt, ...) ((void)0)
#endif
