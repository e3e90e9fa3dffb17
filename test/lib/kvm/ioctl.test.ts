// Every request number the project sends, against the value the kernel's
// headers give (x86-64: measured from include/uapi/linux/kvm.h and
// arch/x86/include/uapi/asm/kvm.h of 6.12 with a C compiler; the series'
// and model-only numbers as pinned). The source derives them from the
// layouts, so a wrong field, size or direction fails here.
import t from 'tap';
import { IOC_NONE, IOC_READ, IOC_WRITE, _IO, _IOC, _IOC_DIR, _IOC_NR, _IOC_SIZE, _IOC_TYPE, _IOR, _IOW, _IOWR, ioctlNames } from '../../../lib/kvm/ioctl.js';
import { array, u32, u64, u8 } from '../../../lib/kvm/layout.js';
import * as cpuid from '../../../lib/kvm/kvm/cpuid.js';
import * as enterImage from '../../../lib/kvm/kvm/enter_image.js';
import { kvm_userspace_memory_region, kvm_userspace_memory_region2 } from '../../../lib/kvm/structs.js';
import * as uapi from '../../../lib/kvm/uapi.js';
import { PIN_LONGTERM_TEST_START, PIN_LONGTERM_TEST_STOP } from '../../../lib/kvm/model/gup_test.js';
import { KVM_MODEL_INJECT_POISON } from '../../../lib/platform/poison.js';
import * as cca from '../../../platforms/cca/uapi.js';
import * as tdx from '../../../platforms/tdx/uapi.js';

const KVM_UAPI: Readonly<Record<string, number>> = {
  KVM_GET_API_VERSION: 0xae00,
  KVM_CREATE_VM: 0xae01,
  KVM_CHECK_EXTENSION: 0xae03,
  KVM_GET_VCPU_MMAP_SIZE: 0xae04,
  KVM_GET_SUPPORTED_CPUID: 0xc008ae05,
  KVM_CREATE_VCPU: 0xae41,
  KVM_SET_NR_MMU_PAGES: 0xae44,
  KVM_SET_USER_MEMORY_REGION: 0x4020ae46,
  KVM_SET_USER_MEMORY_REGION2: 0x40a0ae49,
  KVM_CREATE_IRQCHIP: 0xae60,
  KVM_RUN: 0xae80,
  KVM_GET_REGS: 0x8090ae81,
  KVM_SET_REGS: 0x4090ae82,
  KVM_GET_SREGS: 0x8138ae83,
  KVM_SET_SREGS: 0x4138ae84,
  KVM_INTERRUPT: 0x4004ae86,
  KVM_SET_CPUID2: 0x4008ae90,
  KVM_GET_MP_STATE: 0x8004ae98,
  KVM_SET_MP_STATE: 0x4004ae99,
  KVM_ENABLE_CAP: 0x4068aea3,
  KVM_GET_TSC_KHZ: 0xaea3,
  KVM_MEMORY_ENCRYPT_OP: 0xc008aeba,
  KVM_SET_MEMORY_ATTRIBUTES: 0x4020aed2,
  KVM_CREATE_GUEST_MEMFD: 0xc040aed4,
  KVM_PRE_FAULT_MEMORY: 0xc040aed5,
  KVM_SET_MEMORY_ATTRIBUTES2: 0xc080aed2,
  KVM_GET_DEVICE_ATTR: 0x4018aee2,
  KVM_HAS_DEVICE_ATTR: 0x4018aee3,
};

t.test('every ioctl of lib/kvm/uapi.ts has the kernel\'s number, and IOCTL_NAMES names exactly these', async (t) => {
  const exported = uapi as unknown as Record<string, unknown>;
  for (const [name, want] of Object.entries(KVM_UAPI)) {
    t.equal(exported[name], want, `${name} = 0x${want.toString(16)}`);
    t.equal(uapi.IOCTL_NAMES[want], name, `IOCTL_NAMES[0x${want.toString(16)}]`);
  }
  t.same(Object.values(uapi.IOCTL_NAMES).sort(), Object.keys(KVM_UAPI).sort(), 'a new ioctl gets its number checked here');
});

t.test('the modules that used to declare numbers re-export the same ones', async (t) => {
  t.equal(cpuid.KVM_GET_SUPPORTED_CPUID, 0xc008ae05);
  t.equal(cpuid.KVM_SET_CPUID2, 0x4008ae90);
  t.equal(enterImage.KVM_GET_SREGS, 0x8138ae83);
  t.equal(enterImage.KVM_SET_SREGS, 0x4138ae84);
  t.equal(tdx.KVM_INTERRUPT, 0x4004ae86);
});

t.test('platform and model-only request numbers', async (t) => {
  t.equal(cca.KVM_ARM_RMI_POPULATE, 0xc020aed7, 'KVM_ARM_RMI_POPULATE: _IOWR, 32-byte struct');
  t.equal(cca.KVM_ARM_MODEL_GET_RIM, 0x8020aefe, 'KVM_ARM_MODEL_GET_RIM: _IOR, 32 bytes');
  t.equal(KVM_MODEL_INJECT_POISON, 0x4008aeff, 'KVM_MODEL_INJECT_POISON: _IOW, u64');
  t.equal(PIN_LONGTERM_TEST_START, 0x40186707, "PIN_LONGTERM_TEST_START: _IOW('g', 7), 24-byte struct");
  t.equal(PIN_LONGTERM_TEST_STOP, 0x6708, "PIN_LONGTERM_TEST_STOP: _IO('g', 8)");
});

t.test('_IOC puts direction, size, type and number where asm-generic/ioctl.h does', async (t) => {
  t.equal(_IOC(IOC_READ | IOC_WRITE, 0xae, 0xd4, 64), 0xc040aed4);
  t.equal(_IOC(IOC_READ, 0xae, 0x81, 144), 0x8090ae81, 'bit 31 set, and still a positive number');
  t.ok(_IOC(IOC_READ, 0xae, 0, 0) > 0);
  t.equal(_IO(0xae, 0x80), 0xae80);
  t.equal(_IOC_DIR(0xc040aed4), IOC_READ | IOC_WRITE);
  t.equal(_IOC_DIR(0xae80), IOC_NONE);
  t.equal(_IOC_DIR(0x4020ae46), IOC_WRITE);
  t.equal(_IOC_SIZE(0x40a0ae49), 160);
  t.equal(_IOC_TYPE(0x40a0ae49), 0xae);
  t.equal(_IOC_NR(0x40a0ae49), 0x49);
  t.equal(_IOC_SIZE(0x8138ae83), 312);
});

t.test('the number follows the argument: a wrong struct or direction gives another number', async (t) => {
  t.not(_IOW(0xae, 0x46, kvm_userspace_memory_region2), 0x4020ae46, 'the v2 struct on the v1 number');
  t.not(_IOWR(0xae, 0x46, kvm_userspace_memory_region), 0x4020ae46, 'read-write for a write-only ioctl');
  t.not(_IOR(0xae, 0x46, kvm_userspace_memory_region), 0x4020ae46, 'read for write');
  t.not(_IOW(0xae, 0x46, array(u8, 33)), 0x4020ae46, 'one byte more');
  t.equal(_IOW(0xae, 0xd2, array(u64, 4)), 0x4020aed2, 'only the size counts, not the struct it came from');
  t.not(_IOW(0xae, 0xd2, u32), _IOW(0xae, 0xd2, u64));
});

t.test('_IOC refuses fields that do not fit (_IOC_TYPECHECK)', async (t) => {
  t.throws(() => _IOW(0xae, 0x01, array(u8, 1 << 14)), /size 16384/);
  t.doesNotThrow(() => _IOW(0xae, 0x01, array(u8, (1 << 14) - 1)));
  t.throws(() => _IO(0x100, 0x01), /type 256/);
  t.throws(() => _IO(0xae, 0x100), /nr 256/);
  t.throws(() => _IOC(4, 0xae, 0, 0), /dir 4/);
});

t.test('ioctlNames: one name per number', async (t) => {
  t.same(ioctlNames({ A: 1, B: 2 }), { 1: 'A', 2: 'B' });
  t.throws(() => ioctlNames({ A: 0xae80, B: 0xae80 }), /0xae80 is both A and B/);
});
