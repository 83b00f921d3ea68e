#include "CLinuxGPIO.h"
