#ifndef RELAY_CHIREDIS_SHIM_H
#define RELAY_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#endif
